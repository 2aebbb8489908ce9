package dev.toygpt.experiments;

import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.plot.Chart;
import dev.toygpt.plot.RunPlotter;
import dev.toygpt.text.Corpus;
import dev.toygpt.text.DataException;
import dev.toygpt.train.MetricsLog;
import dev.toygpt.train.Presets;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.RunLock;
import dev.toygpt.train.TrainSettings;
import dev.toygpt.train.Trainer;
import dev.toygpt.util.Rng;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What an experiment works with: the text, the output directory, the GPT preset, the time budget, and
 * {@link #train}, which trains one model in a run directory of its own (with its metrics.csv, checkpoints
 * and loss chart, like any {@code toygpt train} run).
 */
public final class ExperimentContext {
    /**
     * The choices of one experiment run.
     *
     * @param gptPreset        seed, baby or lecture: the GPT the experiments train
     * @param timeLimitSeconds the whole experiment's budget, 0 for none
     * @param smallDataChars   how much of the text the small-data experiment keeps
     * @param stepScale        multiplies every step count (a knob for tests and quick looks; 1 normally)
     * @param tiny             a one-layer GPT of width 16 and few evaluation batches instead of the preset
     *                         (a knob for tests: every experiment then runs in seconds)
     */
    public record Setup(Corpus corpus, Path out, String gptPreset, double timeLimitSeconds, int smallDataChars,
                        double stepScale, boolean tiny) {
        public Setup {
            if (!(stepScale > 0)) throw new IllegalArgumentException("the step scale must be positive, got " + stepScale);
            if (!(timeLimitSeconds >= 0)) throw new IllegalArgumentException("the time limit must be positive");
            if (smallDataChars < 2) throw new IllegalArgumentException("--chars must be at least 2, got " + smallDataChars);
        }

        public static Setup of(Corpus corpus, Path out) {
            return new Setup(corpus, out, "seed", 0, SmallDataExperiment.DEFAULT_CHARS, 1, false);
        }
    }

    private final Setup setup;
    private final PrintStream log;
    private final long startNanos = System.nanoTime();
    private volatile boolean stopRequested;
    private volatile Trainer current;

    public ExperimentContext(Setup setup, PrintStream log) {
        this.setup = setup;
        this.log = log;
    }

    public Setup setup() {
        return setup;
    }

    public Corpus corpus() {
        return setup.corpus();
    }

    public Path out() {
        return setup.out();
    }

    /** A progress line on the log stream (stderr for the command). */
    public void log(String format, Object... args) {
        log.println(String.format(Locale.ROOT, format, args));
    }

    /** The GPT the experiments train: the chosen preset, or the tiny test model. */
    public Presets.Preset gpt() {
        if (!setup.tiny()) return Presets.gpt(setup.gptPreset());
        return new Presets.Preset("tiny", ModelConfig.gpt(0, 16, 2, 1, 8, 0f),
                new TrainSettings(4, 1000, 100, 8, 3e-3f, "adamw", 0.01f, 0f, "constant", 0, 3e-4f, 1337, 0.9, 0, 1));
    }

    /** A step count times the scale knob (at least 1). */
    public int steps(int n) {
        return (int) Math.max(1, Math.round(n * setup.stepScale()));
    }

    /** The preset's settings with these step counts (scaled) and evaluation batches (few for the tiny knob). */
    public TrainSettings settings(TrainSettings base, int maxIters, int evalInterval, int evalIters) {
        int iters = setup.tiny() ? Math.min(evalIters, 8) : evalIters;
        return new TrainSettings(base.batchSize(), steps(maxIters), steps(evalInterval), iters, base.learningRate(),
                base.optimizer(), base.weightDecay(), base.gradClip(), base.schedule(), base.warmupIters(), base.minLr(),
                base.seed(), base.trainFraction(), 0, base.microBatches());
    }

    /** A model configuration for a text's vocabulary, with another block size. */
    public static ModelConfig forText(ModelConfig c, int vocabSize, int blockSize) {
        return new ModelConfig(c.kind(), vocabSize, c.nEmbd(), c.nHead(), c.nLayer(), blockSize, c.dropout(), c.hidden());
    }

    /**
     * Writes a chart as baseName.png and baseName.svg in the output directory. A chart that cannot be drawn
     * is reported on the log and left out: the numbers still get printed.
     */
    public List<Path> writeChart(Chart chart, String baseName) {
        try {
            return chart.writePngAndSvg(out(), baseName);
        } catch (Exception | LinkageError | java.awt.AWTError | InternalError e) {
            log("warning: could not draw %s.png and %s.svg in %s (%s)", baseName, baseName, out(), e);
            return List.of();
        }
    }

    /** Seconds since the experiment started. */
    public double elapsedSeconds() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    /** True when a time limit was set and is used up. */
    public boolean outOfTime() {
        return setup.timeLimitSeconds() > 0 && elapsedSeconds() >= setup.timeLimitSeconds();
    }

    /**
     * The training time the next run may use: what is left of the budget, shared evenly among the runs still
     * to do (a run that finishes early leaves its rest to the others); 0 means no limit.
     */
    public double shareSeconds(int runsLeft) {
        if (setup.timeLimitSeconds() <= 0) return 0;
        double left = setup.timeLimitSeconds() - elapsedSeconds();
        return Math.max(0.001, left / Math.max(1, runsLeft));
    }

    /** Why the remaining runs are skipped, or null if they can go ahead. */
    public String skipReason() {
        if (stopRequested) return "stopped (Ctrl-C)";
        if (outOfTime()) return "the time limit was used up";
        return null;
    }

    /** Stops the model being trained at its next step (it saves a checkpoint) and skips the runs after it. */
    public void requestStop() {
        stopRequested = true;
        Trainer t = current;
        if (t != null) t.requestStop();
    }

    public boolean stopRequested() {
        return stopRequested;
    }

    /**
     * Trains a fresh model in {@code out/name}, stopping at each of {@code stops} (increasing step counts)
     * to evaluate it and, if {@code sampleChars > 0}, to take a sample. Stopping and continuing from the
     * checkpoint repeats exactly what one uninterrupted run does (the optimizer state and random generators
     * are saved with it), so the losses at each stop are those of a run trained for that many steps, as long
     * as the learning rate is constant.
     *
     * @param timeLimitSeconds training time allowed for this model, 0 for none; the run stops early and
     *                         reports the step it reached
     */
    public ModelRun train(String name, Corpus text, ModelConfig config, TrainSettings settings, int[] stops, int sampleChars,
                          double timeLimitSeconds) throws IOException {
        var split = text.split(settings.trainFraction());
        checkLongEnough(text, split.train().length, split.val().length, config.blockSize());
        RunDirectory run = new RunDirectory(out().resolve(name));
        LanguageModel model = LanguageModel.create(config, new Rng(settings.seed()));
        RunPlotter plotter = new RunPlotter(run, RunPlotter.defaultTitle(run.path()), log);
        Progress progress = new Progress(name, stops[stops.length - 1]);
        log("[%s] %,d parameters, %,d steps, batch %d x %d characters%s", name, model.parameterCount(), stops[stops.length - 1],
                settings.batchSize(), config.blockSize(), timeLimitSeconds > 0 ? String.format(Locale.ROOT, ", at most %.0f s", timeLimitSeconds) : "");
        List<ModelRun.Stage> stages = new ArrayList<>();
        String reason = "finished";
        boolean complete = false;
        double seconds = 0;
        try (RunLock lock = RunLock.acquire(run.path())) { // one writer per run directory, as for toygpt train
            for (int i = 0; i < stops.length; i++) {
                // The trainer's clock continues from the checkpoint, but it leaves out the evaluation and saving that
                // end each stop; so the limit is set from the wall-clock time this run has really used.
                double limit = 0;
                if (timeLimitSeconds > 0 && i > 0 && seconds >= timeLimitSeconds) {
                    // no time left for another stretch
                    reason = String.format(Locale.ROOT, "time limit reached after %d steps (of %,d planned)", stops[i - 1], stops[stops.length - 1]);
                    break;
                }
                if (timeLimitSeconds > 0) {
                    double trainerClock = i == 0 ? 0 : lastElapsed(run);
                    limit = trainerClock + Math.max(0.001, timeLimitSeconds - seconds);
                }
                TrainSettings s = new TrainSettings(settings.batchSize(), stops[i], settings.evalInterval(), settings.evalIters(),
                        settings.learningRate(), settings.optimizer(), settings.weightDecay(), settings.gradClip(),
                        settings.schedule(), settings.warmupIters(), settings.minLr(), settings.seed(), settings.trainFraction(), limit, settings.microBatches());
                Trainer trainer = new Trainer(model, text.vocabulary(), split.train(), split.val(), s, run, text.name(),
                        plotter.and(progress));
                if (i > 0) trainer.resumeFrom(run.last());
                current = trainer;
                if (stopRequested) trainer.requestStop();
                long t0 = System.nanoTime();
                Trainer.Result r = trainer.run();
                seconds += (System.nanoTime() - t0) / 1e9;
                current = null;
                if (r.evaluatedStep() == r.steps() && r.steps() > 0) {
                    String sample = sampleChars > 0 ? Samples.generate(model, text.vocabulary(), sampleChars, settings.seed()) : "";
                    stages.add(new ModelRun.Stage(r.steps(), r.trainLoss(), r.valLoss(), seconds, sample));
                }
                if (r.steps() < stops[i]) {
                    reason = String.format(Locale.ROOT, "%s (of %,d planned)", r.stopReason(), stops[stops.length - 1]);
                    break;
                }
                if (i == stops.length - 1) complete = true;
            }
        } finally {
            current = null;
            plotter.finish();
        }
        List<MetricsLog.Row> curve = Files.exists(run.metricsFile()) ? MetricsLog.read(run.metricsFile()) : List.of();
        // Ctrl-C stops between evaluations: report the last evaluation the run reached
        MetricsLog.Row lastRow = curve.isEmpty() ? null : curve.get(curve.size() - 1);
        long lastStage = stages.isEmpty() ? 0 : stages.get(stages.size() - 1).step();
        if (!complete && lastRow != null && lastRow.step() > lastStage) {
            stages.add(new ModelRun.Stage(lastRow.step(), lastRow.trainLoss(), lastRow.valLoss(), lastRow.elapsedSeconds(), ""));
        }
        return new ModelRun(name, config, model.parameterCount(), stages, curve, seconds, complete, reason, run.path());
    }

    /** The trainer's clock at the run's last evaluation (which is where its checkpoint was saved). */
    private static double lastElapsed(RunDirectory run) throws IOException {
        List<MetricsLog.Row> rows = MetricsLog.read(run.metricsFile());
        return rows.isEmpty() ? 0 : rows.get(rows.size() - 1).elapsedSeconds();
    }

    /** Both splits must hold a training window, as for the train command; the message says what to change. */
    static void checkLongEnough(Corpus text, int trainLength, int valLength, int blockSize) {
        int shortest = Math.min(trainLength, valLength);
        if (shortest >= blockSize + 1L) return;
        throw new DataException(String.format(Locale.ROOT, "%s is too short for block size %d: its %s split has %,d characters,"
                        + " but a training window needs block size + 1 = %d; use a longer text",
                text.name(), blockSize, valLength < trainLength ? "validation" : "training", shortest, blockSize + 1));
    }

    /** A line per evaluation on the log. */
    private final class Progress implements Trainer.Listener {
        private final String name;
        private final long total;
        private final long start = System.nanoTime();

        Progress(String name, long total) {
            this.name = name;
            this.total = total;
        }

        @Override
        public void evaluated(long step, double trainLoss, double valLoss, boolean best) {
            log("[%s] step %,d/%,d: train loss %.3f, val loss %.3f (%.0f s)", name, step, total, trainLoss, valLoss,
                    (System.nanoTime() - start) / 1e9);
        }
    }
}
