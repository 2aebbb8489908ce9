package dev.toygpt.cli;

import dev.toygpt.experiments.Experiment;
import dev.toygpt.experiments.ExperimentContext;
import dev.toygpt.experiments.Experiments;
import dev.toygpt.experiments.Report;
import dev.toygpt.experiments.SmallDataExperiment;
import dev.toygpt.io.AtomicFiles;
import dev.toygpt.text.Corpus;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

@Command(name = "experiment", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run one of the course's experiments; print a table and what it shows.",
                "The charts, summary.txt and each model's run directory go into --out.",
                "  steps       one GPT after 10, 100, 1,000 and 5,000 steps (3 min)",
                "  block-size  block sizes 8, 16, 32 and 64 at equal steps (2.5 min)",
                "  small-data  a GPT on 5,000 characters: overfitting (1 min)",
                "  models      bigram, both MLPs and the GPT on one text (2 min)",
                "Times: the seed GPT on 2 cores. --time-limit bounds the whole experiment."})
final class ExperimentCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME", description = "steps, block-size, small-data or models", converter = ExperimentName.class)
    Experiment experiment;
    @Option(names = "--data", paramLabel = "FILE", defaultValue = "shakespeare",
            description = "UTF-8 text to train on; 'shakespeare' (the default) is Tiny Shakespeare, downloaded once")
    String data;
    @Option(names = "--time-limit", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "stop after this wall-clock time in all, e.g. 90s, 5m; the runs share it, and the report says how far they got")
    Duration timeLimit;
    @Option(names = "--out", paramLabel = "DIR", description = "where the runs, charts and summary.txt go (default: experiments/NAME-TIME)")
    Path out;
    @Option(names = "--threads", paramLabel = "N", description = "worker threads (default: all cores)")
    Integer threads;
    @Option(names = "--preset", paramLabel = "NAME", defaultValue = "seed", converter = TrainCommand.PresetName.class,
            description = "the GPT to train: seed (default), baby or lecture")
    String preset;
    @Option(names = "--chars", paramLabel = "N", defaultValue = "" + SmallDataExperiment.DEFAULT_CHARS,
            description = "small-data: keep the first N characters of the text (default ${DEFAULT-VALUE})")
    int chars;
    // Knobs for tests (and quick looks): scale every step count, and train a tiny GPT instead of the preset.
    @Option(names = "--step-scale", hidden = true, defaultValue = "1")
    double stepScale;
    @Option(names = "--tiny", hidden = true)
    boolean tiny;

    @Override
    public Integer call() throws IOException {
        if (threads != null) ThreadsOption.apply(threads);
        if (chars < 2) throw new UserInputException("--chars must be at least 2, got " + chars);
        if (!(stepScale > 0)) throw new UserInputException("--step-scale must be positive, got " + stepScale);
        if (out == null) {
            out = Path.of("experiments", experiment.name() + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        }
        if (Files.isRegularFile(out)) throw new UserInputException("--out names a file, " + out + "; give a directory");
        if (Files.isDirectory(out) && !isEmpty(out)) {
            throw new UserInputException(out + " already holds files: choose another --out (an experiment starts its runs afresh)");
        }
        Corpus corpus = DataOption.load(data);
        var setup = new ExperimentContext.Setup(corpus, out, preset, timeLimit == null ? 0 : timeLimit.toMillis() / 1000.0,
                chars, stepScale, tiny);
        ExperimentContext context = new ExperimentContext(setup, Console.err());
        Console.err().printf(Locale.ROOT, "experiment %s (%s) on %s (%,d characters)%s; output in %s%n", experiment.name(),
                experiment.summary(), corpus.name(), corpus.length(), timeLimit == null ? "" : ", time limit " + describe(timeLimit), out);

        // Ctrl-C: the model in training saves a checkpoint and stops, the other runs are skipped, and what was
        // reached is still reported before the JVM exits.
        CountDownLatch finished = new CountDownLatch(1);
        Thread onCtrlC = new Thread(() -> {
            context.requestStop();
            try {
                finished.await(120, TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "toygpt-experiment-stop");
        Runtime.getRuntime().addShutdownHook(onCtrlC);
        long start = System.nanoTime();
        try {
            Report report = experiment.run(context);
            String text = report.render();
            Console.out().print(text);
            Console.out().flush();
            AtomicFiles.writeString(out.resolve("summary.txt"), text);
            for (Path chart : report.charts()) Console.err().println("chart written to " + chart);
            Console.err().printf(Locale.ROOT, "experiment %s took %.0f s; runs, charts and summary.txt in %s%n", experiment.name(),
                    (System.nanoTime() - start) / 1e9, out);
        } finally {
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(onCtrlC);
            } catch (IllegalStateException shuttingDown) {
                // Ctrl-C: the JVM is already exiting
            }
        }
        return context.stopRequested() ? 130 : 0;
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    private static String describe(Duration d) {
        long s = d.toSeconds();
        return s >= 60 ? String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60) : String.format(Locale.ROOT, "%.0f s", d.toMillis() / 1000.0);
    }

    /** Checks NAME while the command line is parsed, so a typo is reported with the usage. */
    static final class ExperimentName implements CommandLine.ITypeConverter<Experiment> {
        @Override
        public Experiment convert(String value) {
            try {
                return Experiments.byName(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
