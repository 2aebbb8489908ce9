package dev.toygpt.train;

import dev.toygpt.autograd.Tensor;
import dev.toygpt.io.ModelWeights;
import dev.toygpt.io.SafeTensors;
import dev.toygpt.io.SaveFailedException;
import dev.toygpt.io.WriteFailedException;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.optim.Adam;
import dev.toygpt.optim.GradClip;
import dev.toygpt.optim.LearningRateSchedule;
import dev.toygpt.optim.Optimizer;
import dev.toygpt.optim.Sgd;
import dev.toygpt.text.Batch;
import dev.toygpt.text.Batches;
import dev.toygpt.text.Vocabulary;
import dev.toygpt.util.Rng;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The training loop of the lecture: sample a batch, forward, loss, backward, optimizer step; every
 * eval_interval steps estimate the train and validation loss and save a checkpoint.
 */
public final class Trainer {
    /** Hears what the loop does, for progress bars and logs. */
    public interface Listener {
        default void started(long fromStep, long maxIters) {}

        default void stepped(long step, float loss, float lr, double tokensPerSecond) {}

        default void evaluated(long step, double trainLoss, double valLoss, boolean best) {}

        default void saved(long step, Path checkpoint) {}
    }

    /** How a run ended, and where its time went. */
    public record Result(long steps, long evaluatedStep, double trainLoss, double valLoss, double bestValLoss, String stopReason,
                         TimeSpent time) {}

    /**
     * Where this session's wall-clock time went, in seconds: training steps (forward, backward, optimizer),
     * loss estimates, checkpoint saves, and the listeners (progress, charts). A time-limited run shows here what
     * its minute was spent on besides learning.
     */
    public record TimeSpent(long steps, double stepSeconds, double evalSeconds, double saveSeconds, double listenerSeconds) {}

    /** The loss stopped being a finite number: training cannot go on. */
    public static final class DivergedException extends RuntimeException {
        public DivergedException(String message) {
            super(message);
        }
    }

    /** The time schedule's shares of the budget: warm-up at the start, decay to min_lr at the end (see learningRate). */
    static final double TIME_WARMUP = 0.05, TIME_DECAY = 0.4;

    private final LanguageModel model;
    private final Vocabulary vocabulary;
    private final Batches trainBatches;
    private final Batches valBatches;
    private final TrainSettings settings;
    private final RunDirectory run;
    private final String dataName;
    private final Listener listener;
    private final Optimizer optimizer;
    private final LearningRateSchedule schedule;
    private final MetricsLog metrics;
    private final Rng trainRng;
    private final Rng evalRng;
    /** Forward and backward over each batch, in the settings' micro-batches. */
    private final TrainStep trainStep;
    private TrainingState state;
    private volatile boolean stopRequested;
    /** Extra strings saved in every checkpoint's state.json (e.g. where a fine-tuned run started from). */
    private final java.util.Map<String, String> notes = new java.util.LinkedHashMap<>();

    public Trainer(LanguageModel model, Vocabulary vocabulary, int[] trainData, int[] valData, TrainSettings settings,
                   RunDirectory run, String dataName, Listener listener) {
        this.model = model;
        this.vocabulary = vocabulary;
        this.settings = settings.validate();
        int block = model.config().blockSize();
        this.trainBatches = new Batches("the training split", trainData, block, settings.batchSize());
        this.valBatches = new Batches("the validation split", valData, block, settings.batchSize());
        this.run = run;
        this.dataName = dataName;
        this.listener = listener == null ? new Listener() {} : listener;
        this.optimizer = newOptimizer(model, settings);
        this.trainStep = new TrainStep(model, this.settings.microBatches());
        this.schedule = switch (settings.schedule()) {
            case "cosine" -> LearningRateSchedule.warmupCosine(settings.learningRate(), settings.warmupIters(), settings.maxIters(), settings.minLr());
            case TrainSettings.TIME_SCHEDULE -> null; // by elapsed time: see learningRate
            default -> LearningRateSchedule.constant(settings.learningRate());
        };
        this.metrics = new MetricsLog(run.metricsFile());
        this.trainRng = new Rng(settings.seed() * 0x9E3779B97F4A7C15L + 1);
        this.evalRng = new Rng(settings.seed() * 0x9E3779B97F4A7C15L + 2);
        model.dropoutRng().setState(settings.seed() * 0x9E3779B97F4A7C15L + 3);
        this.state = new TrainingState(0, -1, trainRng.state(), evalRng.state(), model.dropoutRng().state(), Double.NaN, -1, 0);
    }

    static Optimizer newOptimizer(LanguageModel model, TrainSettings s) {
        return switch (s.optimizer()) {
            case "sgd" -> new Sgd(model.parameters(), s.learningRate());
            case "adam" -> new Adam(model.parameters(), s.learningRate(), 0.9f, 0.999f, 1e-8f, s.weightDecay(), false);
            default -> new Adam(model.parameters(), s.learningRate(), 0.9f, 0.999f, 1e-8f, s.weightDecay(), true);
        };
    }

    /**
     * Continues from a checkpoint of this run: weights, optimizer buffers, random generators and step. All
     * files are checked before anything is changed: when this throws, the model and optimizer are untouched.
     */
    public void resumeFrom(Path checkpoint) throws IOException {
        Runnable loadWeights;
        try {
            loadWeights = ModelWeights.check(model, SafeTensors.read(checkpoint.resolve(Checkpoint.MODEL_FILE)), "");
        } catch (SafeTensors.SafeTensorsException | ModelWeights.MismatchException e) {
            throw new CheckpointException("cannot resume: " + e.getMessage(), e);
        }
        TrainingState saved = Checkpoint.loadTrainingState(checkpoint, optimizer); // last check, changes the optimizer
        loadWeights.run();
        trainRng.setState(saved.trainRng());
        evalRng.setState(saved.evalRng());
        model.dropoutRng().setState(saved.dropoutRng());
        state = saved;
        metrics.truncateAfter(saved.evaluatedStep());
    }

    /** Saves key: value in the state.json of every checkpoint this trainer writes. */
    public void note(String key, String value) {
        notes.put(key, value);
    }

    /** Asks the loop to save a checkpoint and return at the next step boundary (Ctrl-C). */
    public void requestStop() {
        stopRequested = true;
    }

    public Optimizer optimizer() {
        return optimizer;
    }

    public long step() {
        return state.step();
    }

    public Result run() throws IOException {
        long step = state.step();
        long evaluatedStep = state.evaluatedStep();
        long savedStep = step; // the checkpoint we resumed from (or nothing to save at step 0)
        double best = state.bestValLoss();
        long bestStep = state.bestStep();
        double lastTrain = Double.NaN, lastVal = Double.NaN;
        long startNanos = System.nanoTime();
        double elapsedBefore = state.elapsedSeconds();
        int tokensPerStep = settings.batchSize() * model.config().blockSize();
        String reason = "finished " + settings.maxIters() + " steps";
        long firstStep = step;
        long stepNanos = 0, evalNanos = 0, saveNanos = 0, listenerNanos = 0;
        listener.started(step, settings.maxIters());
        model.train(true);
        while (true) {
            double elapsed = elapsedBefore + (System.nanoTime() - startNanos) / 1e9;
            boolean timeUp = settings.timeLimitSeconds() > 0 && elapsed >= settings.timeLimitSeconds();
            boolean done = step >= settings.maxIters() || timeUp;
            if (stopRequested) {
                reason = "stopped at step " + step;
                break;
            }
            // A time-limited run does not evaluate the untrained model (its loss is about ln(vocabulary size)
            // anyway): those batches would come out of the training time.
            boolean untrainedInTimedRun = step == 0 && settings.timeLimitSeconds() > 0 && !done;
            if ((step % settings.evalInterval() == 0 || done) && evaluatedStep != step && !untrainedInTimedRun) {
                // Inside a time-limited run the evaluations on the way cost training time, so they take a twentieth
                // of the batches (enough for the chart and the best checkpoint; baby's minute: 2.7 s of evaluation
                // at a tenth, about 70 steps); the final one takes them all.
                int evalBatches = settings.timeLimitSeconds() > 0 && !done ? Math.max(1, settings.evalIters() / 20) : settings.evalIters();
                long evalStart = System.nanoTime();
                double[] losses = estimateLoss(evalBatches);
                evalNanos += System.nanoTime() - evalStart;
                lastTrain = losses[0];
                lastVal = losses[1];
                if (!Double.isFinite(lastTrain) || !Double.isFinite(lastVal)) {
                    throw diverged(Double.isFinite(lastTrain) ? "the estimated validation loss is " + lastVal + " at step " + step
                            : "the estimated training loss is " + lastTrain + " at step " + step);
                }
                evaluatedStep = step;
                boolean isBest = Double.isNaN(best) || lastVal < best;
                if (isBest) {
                    best = lastVal;
                    bestStep = step;
                }
                float loggedLr = schedule != null ? schedule.at(Math.max(0, step - 1)) : learningRate(step, elapsed);
                try {
                    metrics.append(new MetricsLog.Row(step, lastTrain, lastVal, loggedLr, elapsed));
                } catch (IOException e) {
                    throw saveFailed("the losses of step " + step, e, 0);
                }
                long listenerStart = System.nanoTime();
                listener.evaluated(step, lastTrain, lastVal, isBest);
                listenerNanos += System.nanoTime() - listenerStart;
                if (step > 0) {
                    long saveStart = System.nanoTime();
                    state = snapshot(step, evaluatedStep, best, bestStep, elapsed);
                    save(step, bestStep == step);
                    savedStep = step;
                    saveNanos += System.nanoTime() - saveStart;
                }
            }
            if (done) {
                if (timeUp) reason = "time limit reached after " + step + " steps";
                break;
            }
            float lr = learningRate(step, elapsed);
            optimizer.setLearningRate(lr);
            long t0 = System.nanoTime();
            Batch batch = trainBatches.next(trainRng);
            float loss = trainStep.forwardBackward(batch);
            if (!Float.isFinite(loss)) throw diverged("the training loss became " + loss + " at step " + step);
            if (settings.gradClip() > 0) GradClip.clipGradNorm(model.parameters(), settings.gradClip());
            optimizer.step();
            step++;
            long t1 = System.nanoTime();
            stepNanos += t1 - t0;
            listener.stepped(step, loss, lr, tokensPerStep / Math.max((t1 - t0) / 1e9, 1e-9));
            listenerNanos += System.nanoTime() - t1;
        }
        double elapsed = elapsedBefore + (System.nanoTime() - startNanos) / 1e9;
        if (step != savedStep && step > 0) {
            long saveStart = System.nanoTime();
            state = snapshot(step, evaluatedStep, best, bestStep, elapsed);
            save(step, bestStep == step);
            saveNanos += System.nanoTime() - saveStart;
        }
        model.train(false);
        var time = new TimeSpent(step - firstStep, stepNanos / 1e9, evalNanos / 1e9, saveNanos / 1e9, listenerNanos / 1e9);
        return new Result(step, evaluatedStep, lastTrain, lastVal, best, reason, time);
    }

    private TrainingState snapshot(long step, long evaluatedStep, double best, long bestStep, double elapsed) {
        return new TrainingState(step, evaluatedStep, trainRng.state(), evalRng.state(), model.dropoutRng().state(),
                best, bestStep, elapsed);
    }

    private void save(long step, boolean isBest) throws IOException {
        for (Tensor p : model.parameters()) {
            for (float v : p.data()) {
                if (!Float.isFinite(v)) throw diverged("a weight became " + v + " at step " + step);
            }
        }
        Path saved;
        try {
            saved = run.save(step, isBest, state.bestValLoss(), dir ->
                    Checkpoint.write(dir, model, vocabulary, optimizer, state, settings, dataName, notes));
        } catch (IOException e) {
            throw saveFailed("the checkpoint of step " + step, e, checkpointBytes());
        }
        listener.saved(step, saved);
    }

    /** About how many bytes a checkpoint takes: the weights, the optimizer's buffers and a little JSON. */
    private long checkpointBytes() {
        long floats = model.parameterCount();
        for (float[] buffer : optimizer.state().values()) floats += buffer.length;
        return 4 * floats + 64 * 1024 + 8L * vocabulary.size();
    }

    /**
     * A save that failed for a reason outside the program (disk full, directory no longer writable): says what
     * was being written, where, the space it needs, and which checkpoint is still good.
     */
    private SaveFailedException saveFailed(String what, IOException e, long bytesNeeded) {
        StringBuilder m = new StringBuilder("could not save ").append(what).append(" in ").append(run.path()).append(": ");
        if (e instanceof WriteFailedException w) {
            m.append(w.reason()).append(" (while writing ").append(w.file()).append(')');
        } else {
            m.append(e.getMessage());
        }
        if (bytesNeeded > 0) {
            m.append(".\nThe checkpoint needs about ").append(megabytes(bytesNeeded));
            try {
                m.append(String.format(Locale.ROOT, "; %s is free there", megabytes(Files.getFileStore(run.path()).getUsableSpace())));
            } catch (IOException | RuntimeException unknown) {
                // how much is free is a hint only
            }
        }
        m.append(".\n");
        String last;
        try {
            last = run.hasCheckpoints() ? run.last().toString() : null;
        } catch (RuntimeException damaged) {
            last = null;
        }
        m.append(last != null ? "The last good checkpoint is " + last + "; it and " + RunDirectory.POINTERS + " are unchanged."
                : "No checkpoint of this run had been saved yet.");
        return new SaveFailedException(m.toString(), e);
    }

    private static String megabytes(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    private DivergedException diverged(String what) {
        String kept = run.hasCheckpoints() ? "the last good checkpoint is kept in " + run.path() : "no checkpoint was saved";
        return new DivergedException(what + "; training stopped (" + kept + "). Try a lower --lr or --grad-clip 1.0.");
    }

    /**
     * The learning rate for the step about to be taken. The time schedule goes by the share of the time limit
     * spent, or of max_iters if that is further along (the elapsed time is saved in each checkpoint, so a
     * resumed run continues where it stood), with a warm-up of 5% of it, or of warmup_iters steps if set, and a
     * decay to min_lr over its last 40%.
     */
    private float learningRate(long step, double elapsedSeconds) {
        return schedule != null ? schedule.at(step) : timeScheduleRate(settings, step, elapsedSeconds);
    }

    /** The time schedule's learning rate for the step about to be taken after elapsedSeconds of training (see above). */
    public static float timeScheduleRate(TrainSettings settings, long step, double elapsedSeconds) {
        // whichever budget runs out first, the time or max_iters, ends the decay
        double spent = Math.max(elapsedSeconds / settings.timeLimitSeconds(), (double) step / settings.maxIters());
        float lr = LearningRateSchedule.byTimeFraction(settings.learningRate(), settings.minLr(), TIME_WARMUP, TIME_DECAY, spent);
        if (step < settings.warmupIters()) lr = lr * (step + 1) / (settings.warmupIters() + 1);
        return lr;
    }

    /** Mean loss over eval_iters random batches of each split: {train, val}. */
    public double[] estimateLoss() {
        return estimateLoss(settings.evalIters());
    }

    private double[] estimateLoss(int batches) {
        return new double[]{
                LossEstimator.estimate(model, trainBatches, batches, evalRng),
                LossEstimator.estimate(model, valBatches, batches, evalRng)};
    }
}
