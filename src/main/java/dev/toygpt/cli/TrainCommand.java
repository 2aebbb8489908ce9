package dev.toygpt.cli;

import dev.toygpt.io.SaveFailedException;
import dev.toygpt.kernels.Parallel;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.models.ModelKind;
import dev.toygpt.plot.RunPlotter;
import dev.toygpt.text.Corpus;
import dev.toygpt.text.Vocabulary;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.Presets;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.RunLock;
import dev.toygpt.train.TrainSettings;
import dev.toygpt.train.Trainer;
import dev.toygpt.util.Rng;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a model on a text file, save checkpoints, and print a sample.",
                "Ctrl-C saves a checkpoint and stops; --resume continues the run exactly."})
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "NAME", description = "bigram, mlp-onehot, mlp-embedding or gpt (default: ${DEFAULT-VALUE})", defaultValue = "gpt",
            converter = ModelName.class)
    String model;
    @Option(names = "--preset", paramLabel = "NAME", description = "GPT sizes: seed (default), baby or lecture", converter = PresetName.class)
    String preset;
    @Option(names = "--data", paramLabel = "FILE", defaultValue = "shakespeare",
            description = "UTF-8 text to train on; 'shakespeare' (the default) is Tiny Shakespeare, downloaded once")
    String data;
    @Option(names = "--out", paramLabel = "DIR", description = "run directory for checkpoints and metrics (default: runs/NAME-TIME)")
    Path out;
    @Option(names = "--resume", description = "continue the run in --out from its last checkpoint")
    boolean resume;
    @Option(names = "--init-from", paramLabel = "CHECKPOINT",
            description = "fine-tune: start a new run from a trained checkpoint's weights (a run directory means its best), same model, fresh optimizer")
    Path initFrom;
    @Option(names = "--extend-vocab", description = "with --init-from: give the text's characters the model lacks new rows in the embedding and the head")
    boolean extendVocab;

    @Option(names = "--max-iters", paramLabel = "N", description = "training steps") Integer maxIters;
    @Option(names = "--eval-interval", paramLabel = "N", description = "estimate the losses every N steps") Integer evalInterval;
    @Option(names = "--eval-iters", paramLabel = "N", description = "batches per loss estimate") Integer evalIters;
    @Option(names = "--lr", paramLabel = "X", description = "learning rate") Float lr;
    @Option(names = "--time-limit", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "train for this wall-clock time, e.g. 60s, 10m, 1h: without --max-iters the run goes on until it is up, with it whichever ends first") Duration timeLimit;
    @Option(names = "--seed", paramLabel = "N", description = "random seed for initial weights, batches and dropout") Long seed;
    @Option(names = "--threads", paramLabel = "N", description = "worker threads (default: all cores)") Integer threads;

    @Option(names = "--batch-size", paramLabel = "N") Integer batchSize;
    @Option(names = "--micro-batches", paramLabel = "N", description = "cut each batch into N equal parts, taken forward and backward"
            + " at once on up to N threads, and average their gradients (default: the preset's). The numbers depend on N, not on --threads")
    Integer microBatches;
    @Option(names = "--block-size", paramLabel = "N", description = "context length in characters") Integer blockSize;
    @Option(names = "--n-embd", paramLabel = "N", description = "embedding width") Integer nEmbd;
    @Option(names = "--n-head", paramLabel = "N", description = "attention heads (GPT)") Integer nHead;
    @Option(names = "--n-layer", paramLabel = "N", description = "transformer blocks (GPT)") Integer nLayer;
    @Option(names = "--hidden", paramLabel = "N", description = "hidden units (MLPs)") Integer hidden;
    @Option(names = "--dropout", paramLabel = "P", description = "dropout probability in [0, 1) (GPT)") Float dropout;
    @Option(names = "--optimizer", paramLabel = "NAME", description = "adamw, adam or sgd") String optimizer;
    @Option(names = "--weight-decay", paramLabel = "X") Float weightDecay;
    @Option(names = "--grad-clip", paramLabel = "X", description = "clip the gradient norm (0: off)") Float gradClip;
    @Option(names = "--schedule", paramLabel = "NAME", description = "learning rate: constant, cosine (warm-up then cosine decay over --max-iters),"
            + " or time (warm-up, then a linear decay over the last 40%% of --time-limit; the default with --time-limit)") String schedule;
    @Option(names = "--warmup-iters", paramLabel = "N") Integer warmupIters;
    @Option(names = "--min-lr", paramLabel = "X", description = "final learning rate of the cosine and time schedules") Float minLr;
    @Option(names = "--train-fraction", paramLabel = "X", description = "share of the text used for training, the rest validates (default 0.9)") Double trainFraction;
    @Option(names = "--serve", arity = "0..1", paramLabel = "PORT", fallbackValue = "-1",
            description = "also serve the playground for the run's folder while training (port: default 8080 or the next free one); keeps serving after training until Ctrl-C")
    Integer serve;
    @Option(names = "--sample-tokens", paramLabel = "N", defaultValue = "500", description = "characters to sample at the end (0: none; default ${DEFAULT-VALUE})")
    int sampleTokens;

    /** The run directory's lock, held from just before training starts until it has ended. */
    private RunLock lock;

    @Override
    public Integer call() throws Exception {
        try {
            return train();
        } catch (SaveFailedException e) {
            boolean resumable = new RunDirectory(out).hasCheckpoints();
            throw e.withAdvice("Free some space (or make " + out + " writable again), then " + (resumable
                    ? "continue with: ./toygpt train --out " + out + (data.equals("shakespeare") ? "" : " --data " + data) + " --resume"
                    : "start again."));
        } finally {
            if (lock != null) lock.close();
        }
    }

    private Integer train() throws Exception {
        if (threads != null) {
            if (threads < 1) throw new UserInputException("--threads must be at least 1, got " + threads);
            Parallel.setThreads(threads);
        }
        if (resume && out == null) throw new UserInputException("--resume needs --out DIR, the run to continue");
        if (initFrom != null && resume) {
            throw new UserInputException("--init-from starts a new run; to continue a fine-tuning run give just --out DIR --resume");
        }
        if (extendVocab && initFrom == null) throw new UserInputException("--extend-vocab goes with --init-from CHECKPOINT");
        Corpus corpus = DataOption.load(data);
        Vocabulary vocab = corpus.vocabulary();
        LanguageModel initial = null; // the fine-tuned model's starting weights (--init-from)
        String initNote = null;

        ModelConfig config;
        TrainSettings settings;
        Path resumeFrom = null;
        RunDirectory run;
        if (resume) {
            run = new RunDirectory(out);
            if (!run.hasCheckpoints()) throw new UserInputException(out + " has no checkpoints to resume from");
            resumeFrom = run.last();
            var saved = Checkpoint.readConfig(resumeFrom);
            initNote = Checkpoint.stateNote(resumeFrom, "init_from");
            // A fine-tuned run keeps the vocabulary of the model it started from, which may hold more characters than its text.
            boolean fineTunedText = initNote != null && saved.getValue().missingFrom(corpus.text()).length == 0;
            if (fineTunedText) {
                corpus = corpus.withVocabulary(saved.getValue());
                vocab = saved.getValue();
            }
            if (!saved.getValue().equals(vocab)) {
                throw new UserInputException("the run in " + out + " was trained on a vocabulary of " + saved.getValue().size()
                        + " characters, but " + corpus.name() + " has " + vocab.size() + " different ones: resume with the same --data");
            }
            config = saved.getKey();
            settings = override(Checkpoint.readSettings(resumeFrom));
        } else if (initFrom != null) {
            Path source = RunDirectory.resolveCheckpoint(initFrom);
            Checkpoint.Loaded trained = Checkpoint.load(source);
            for (var o : new Object[][]{{"--preset", preset}, {"--n-embd", nEmbd}, {"--n-head", nHead}, {"--n-layer", nLayer},
                    {"--block-size", blockSize}, {"--hidden", hidden}}) {
                if (o[1] != null) throw new UserInputException("--init-from keeps the model of " + source + "; " + o[0] + " cannot change it");
            }
            Vocabulary old = trained.vocabulary();
            int[] missing = old.missingFrom(corpus.text());
            if (missing.length > 0 && !extendVocab) {
                throw new UserInputException(String.format(Locale.ROOT, "%s has %d %s that the model in %s has never seen: %s."
                                + " Add --extend-vocab to give them new rows in the embedding and the head, or use a text without them",
                        corpus.name(), missing.length, missing.length == 1 ? "character" : "characters", source, Vocabulary.describeChars(missing)));
            }
            vocab = missing.length > 0 ? old.extendedWith(missing) : old;
            corpus = corpus.withVocabulary(vocab);
            ModelConfig c = trained.model().config();
            config = new ModelConfig(c.kind(), vocab.size(), c.nEmbd(), c.nHead(), c.nLayer(), c.blockSize(),
                    dropout != null ? dropout : c.dropout(), c.hidden());
            settings = override(Files.isRegularFile(source.resolve(Checkpoint.STATE_FILE)) ? Checkpoint.readSettings(source)
                    : Presets.defaults(c.kind()).train());
            initial = LanguageModel.extendedCopy(trained.model(), config.validate(), new Rng(settings.seed()));
            initNote = source.toAbsolutePath().normalize().toString();
            if (out == null) {
                out = Path.of("runs", c.kind().cliName() + "-finetune-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
            }
            run = new RunDirectory(out);
            if (run.hasCheckpoints() || Files.exists(run.metricsFile())) {
                throw new UserInputException(out + " already holds a run: choose another --out for the fine-tuning run");
            }
            Console.err().printf(Locale.ROOT, "fine-tuning the model of %s on %s, with a fresh optimizer%n", source, corpus.name());
            if (missing.length > 0) {
                Console.err().printf(Locale.ROOT, "extended the vocabulary by %d %s (%s), ids %d to %d: %s%n", missing.length,
                        missing.length == 1 ? "character" : "characters", Vocabulary.describeChars(missing), old.size(), vocab.size() - 1,
                        "their rows in the embedding and the head start as freshly initialised ones");
            }
        } else {
            ModelKind kind = ModelKind.parse(model);
            if (preset != null && kind != ModelKind.GPT) throw new UserInputException("--preset applies to --model gpt only");
            Presets.Preset p = preset != null ? Presets.gpt(preset) : Presets.defaults(kind);
            config = override(p.model(), vocab.size());
            settings = override(p.train());
            if (out == null) {
                String name = (kind == ModelKind.GPT ? "gpt-" + p.name() : kind.cliName());
                out = Path.of("runs", name + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
            }
            run = new RunDirectory(out);
            refuseExistingRun(run);
        }
        settings.validate();
        config.validate();

        var split = corpus.split(settings.trainFraction());
        checkLongEnough(corpus.name(), split.train().length, split.val().length, config.blockSize());
        // Only now, with every check passed, is the run directory locked (and created): a refused command
        // leaves no trace. What was read before is read again under the lock, in case another run changed it.
        lock = RunLock.acquire(out);
        if (resumeFrom != null) {
            resumeFrom = run.last();
        } else {
            refuseExistingRun(run);
        }
        LanguageModel lm = initial != null ? initial : LanguageModel.create(config, new Rng(settings.seed()));
        var err = Console.err();
        err.printf(Locale.ROOT, "model %s: %,d parameters%s%n", config.kind(), lm.parameterCount(), describe(config));
        err.printf(Locale.ROOT, "data %s: %,d characters, %d distinct; %,d for training, %,d for validation%n",
                corpus.name(), corpus.tokens().length, vocab.size(), split.train().length, split.val().length);
        err.printf(Locale.ROOT, "training: %s lr %s, batch %d x %d%s, %s, %d threads, %s kernels; run directory %s%n",
                settings.optimizer(), Float.toString(settings.learningRate()), settings.batchSize(), config.blockSize(),
                settings.microBatches() > 1 ? " in " + settings.microBatches() + " micro-batches" : "", settings.budget(),
                Parallel.threads(), dev.toygpt.kernels.MatMul.SIMD ? "SIMD" : "portable (start with ./toygpt for SIMD)", out);

        dev.toygpt.web.PlaygroundServer server = null;
        if (serve != null) { // the page shows the runs beside this one too; the server loads its own copies from disk
            Files.createDirectories(out);
            Path folder = out.toAbsolutePath().normalize().getParent();
            server = ServeCommand.start(folder, "127.0.0.1", serve == -1 ? null : serve, err);
            server.markTraining(out, true);
        }
        TrainProgress progress = new TrainProgress(settings);
        RunPlotter plotter = new RunPlotter(run, RunPlotter.defaultTitle(out), err); // loss.png and loss.svg in the run directory
        Trainer trainer = new Trainer(lm, vocab, split.train(), split.val(), settings, run, corpus.name(), plotter.and(progress));
        if (initNote != null) trainer.note("init_from", initNote);
        long resumedAt = -1;
        if (resumeFrom != null) {
            trainer.resumeFrom(resumeFrom);
            resumedAt = trainer.step();
            err.printf("resuming from %s at step %,d%n", resumeFrom, resumedAt);
        }

        CountDownLatch finished = new CountDownLatch(1);
        Thread onCtrlC = new Thread(() -> {
            trainer.requestStop();
            try {
                finished.await(120, TimeUnit.SECONDS); // let the loop save its checkpoint before the JVM exits
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "toygpt-save-on-exit");
        Runtime.getRuntime().addShutdownHook(onCtrlC);
        Trainer.Result result;
        boolean interrupted, spent;
        try {
            try {
                result = trainer.run();
            } finally {
                progress.close();
                plotter.finish();
            }
            interrupted = result.stopReason().startsWith("stopped");
            spent = result.steps() == resumedAt && !interrupted;
            if (spent) {
                err.println(spentAlready(settings, result, out));
            } else {
                if (result.evaluatedStep() == result.steps()) {
                    err.printf(Locale.ROOT, "%s; train loss %.4f, val loss %.4f (best %.4f); checkpoints in %s%n",
                            result.stopReason(), result.trainLoss(), result.valLoss(), result.bestValLoss(), out);
                } else {
                    err.printf(Locale.ROOT, "%s (best val loss so far %.4f); checkpoints in %s%n", result.stopReason(), result.bestValLoss(), out);
                }
                err.println(describeTime(result.time(), settings.batchSize() * config.blockSize()));
            }
            if (interrupted) err.printf("continue with: ./toygpt train --out %s --resume%n", out);
        } catch (RuntimeException | java.io.IOException e) {
            try {
                Runtime.getRuntime().removeShutdownHook(onCtrlC); // nothing left to save
            } catch (IllegalStateException shuttingDown) {
                // the JVM is already exiting
            }
            throw e;
        } finally {
            finished.countDown(); // after Ctrl-C the JVM exits as soon as the hook returns: only now is all said
        }
        if (interrupted) return 130;
        try {
            Runtime.getRuntime().removeShutdownHook(onCtrlC);
        } catch (IllegalStateException shuttingDown) {
            return 130; // Ctrl-C came after the last step: the run is complete and saved
        }
        if (sampleTokens > 0 && !spent) {
            err.println("sample:");
            SampleCommand.stream(lm, vocab, new int[]{SampleCommand.startToken(vocab)}, sampleTokens,
                    dev.toygpt.sample.SamplingSettings.defaults(), new Rng(settings.seed()), Console.out(), true);
        }
        if (server != null) {
            server.markTraining(out, false);
            err.println("training finished; the playground is still at " + server.url() + " (Ctrl-C stops it)");
            ServeCommand.awaitCtrlC(server);
        }
        return 0;
    }

    /** One line on where the session's time went, e.g. "time: 58.1 s training 1,210 steps (16,000 tokens/s), ...". */
    static String describeTime(Trainer.TimeSpent t, int tokensPerStep) {
        return String.format(Locale.ROOT, "time: %.1f s training %,d steps (%,.0f tokens/s), %.1f s estimating losses,"
                        + " %.1f s saving checkpoints, %.1f s on progress and charts",
                t.stepSeconds(), t.steps(), t.steps() * (double) tokensPerStep / Math.max(t.stepSeconds(), 1e-9),
                t.evalSeconds(), t.saveSeconds(), t.listenerSeconds());
    }

    private void refuseExistingRun(RunDirectory run) {
        if (run.hasCheckpoints() || Files.exists(run.metricsFile())) {
            throw new UserInputException(out + " already holds a run: add --resume to continue it, or choose another --out");
        }
    }

    /** Both splits must hold at least one training window; says which is too short and what to change. */
    private static void checkLongEnough(String name, int trainLength, int valLength, int blockSize) {
        int shortest = Math.min(trainLength, valLength);
        if (shortest >= blockSize + 1L) return;
        boolean val = valLength < trainLength;
        throw new UserInputException(String.format(Locale.ROOT, "%s is too short for block size %d: its %s split has %,d characters"
                        + " (training %,d, validation %,d), but a training window needs block size + 1 = %d. %s",
                name, blockSize, val ? "validation" : "training", shortest, trainLength, valLength, blockSize + 1,
                (shortest >= 2 ? "Lower --block-size to at most " + (shortest - 1) + ", or use a longer text" : "Use a longer text")
                        + (val ? " (or give validation more of it with a lower --train-fraction)" : "")));
    }

    /** Checks --model while the command line is parsed, so a typo is reported with the usage, like any bad value. */
    static final class ModelName implements CommandLine.ITypeConverter<String> {
        @Override
        public String convert(String value) {
            try {
                return ModelKind.parse(value).cliName();
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /** Checks --preset while the command line is parsed. */
    static final class PresetName implements CommandLine.ITypeConverter<String> {
        @Override
        public String convert(String value) {
            try {
                return Presets.gpt(value).name();
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    private static String describe(ModelConfig c) {
        return switch (c.kind()) {
            case BIGRAM -> "";
            case MLP_ONEHOT -> " (hidden " + c.hidden() + ")";
            case MLP_EMBEDDING -> " (embedding " + c.nEmbd() + ", hidden " + c.hidden() + ")";
            case GPT -> String.format(Locale.ROOT, " (n_embd %d, n_head %d, n_layer %d, block_size %d, dropout %.2f)",
                    c.nEmbd(), c.nHead(), c.nLayer(), c.blockSize(), c.dropout());
        };
    }

    private ModelConfig override(ModelConfig p, int vocabSize) {
        int ne = nEmbd != null ? nEmbd : p.nEmbd();
        int hid = hidden != null ? hidden : (p.kind() == ModelKind.GPT ? 4 * ne : p.hidden());
        return new ModelConfig(p.kind(), vocabSize, ne, nHead != null ? nHead : p.nHead(),
                nLayer != null ? nLayer : p.nLayer(), blockSize != null ? blockSize : p.blockSize(),
                dropout != null ? dropout : p.dropout(), hid);
    }

    /** A resumed run whose budget was spent before it started: what to give to train on. */
    static String spentAlready(TrainSettings settings, Trainer.Result result, Path out) {
        boolean timeUp = result.stopReason().startsWith("time limit");
        String more = timeUp ? String.format(Locale.ROOT, "--time-limit longer than %.0f s (the whole run's time, counted from its start)", settings.timeLimitSeconds())
                : String.format(Locale.ROOT, "--max-iters above %,d", result.steps());
        return String.format(Locale.ROOT, "nothing to train: the run's budget (%s) was spent at step %,d (best val loss %.4f); to train on, give %s."
                + " Checkpoints in %s", settings.budget(), result.steps(), result.bestValLoss(), more, out);
    }

    private TrainSettings override(TrainSettings s) {
        float rate = lr != null ? lr : s.learningRate();
        int batch = batchSize != null ? batchSize : s.batchSize();
        // a batch size of the user's that the preset's parts do not divide is taken whole, unless parts are asked for too
        int parts = microBatches != null ? microBatches : batch % s.microBatches() == 0 ? s.microBatches() : 1;
        // --time-limit without --max-iters: the time is the budget, and the run goes on until it is up
        boolean timeOnly = maxIters == null && !resume && timeLimit != null && timeLimit.toMillis() > 0;
        return new TrainSettings(batch, maxIters != null ? maxIters : timeOnly ? TrainSettings.NO_STEP_LIMIT : s.maxIters(),
                evalInterval != null ? evalInterval : s.evalInterval(), evalIters != null ? evalIters : s.evalIters(), rate,
                optimizer != null ? optimizer.toLowerCase(Locale.ROOT) : s.optimizer(),
                weightDecay != null ? weightDecay : s.weightDecay(), gradClip != null ? gradClip : s.gradClip(),
                schedule != null ? schedule.toLowerCase(Locale.ROOT) : !resume && timeLimit != null && timeLimit.toMillis() > 0 ? TrainSettings.TIME_SCHEDULE : s.schedule(),
                warmupIters != null ? warmupIters : s.warmupIters(), minLr != null ? minLr : (lr != null ? rate / 10 : s.minLr()),
                seed != null ? seed : s.seed(), trainFraction != null ? trainFraction : s.trainFraction(),
                timeLimit != null ? timeLimit.toMillis() / 1000.0 : s.timeLimitSeconds(), parts);
    }
}
