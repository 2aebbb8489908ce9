package dev.toygpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Impossible sizes and settings, sampling options out of range, and command-line mistakes (cases 5-8 and
 * 13-15): each exits with 2 and says what is wrong; train creates nothing, sample and eval change nothing.
 */
class BadOptionsTest extends CliTestBase {
    @TempDir
    static Path shared;
    static Path data;
    static Path run;

    @TempDir
    Path dir;

    @BeforeAll
    static void trainOnce() throws IOException {
        data = write(shared.resolve("play.txt"), PLAY);
        run = trainTinyBigram(data, shared.resolve("run"));
    }

    /** A tiny GPT training command line in which one option is replaced (or added) with a bad value. */
    private String[] tinyGpt(Path out, String option, String value) {
        Map<String, String> options = new LinkedHashMap<>();
        options.put("--data", data.toString());
        options.put("--out", out.toString());
        options.put("--model", "gpt");
        options.put("--n-embd", "16");
        options.put("--n-head", "2");
        options.put("--n-layer", "1");
        options.put("--block-size", "8");
        options.put("--batch-size", "4");
        options.put("--max-iters", "10");
        options.put("--eval-interval", "5");
        options.put("--eval-iters", "2");
        options.put("--sample-tokens", "0");
        options.put(option, value);
        List<String> args = new ArrayList<>(List.of("train"));
        options.forEach((k, v) -> {
            args.add(k);
            args.add(v);
        });
        return args.toArray(String[]::new);
    }

    private void assertTrainRefused(String option, String value, String... fragments) {
        Path out = dir.resolve("new-run");
        assertBadInput(run(tinyGpt(out, option, value)), fragments);
        assertFalse(Files.exists(out), "a refused train must not create its run directory");
    }

    @Test
    void tinyGptSettingsAreValid() {
        // The base command line of these tests works, so each failure below is caused by its one bad value.
        Path out = dir.resolve("ok");
        assertSucceeded(run(tinyGpt(out, "--max-iters", "5")));
        assertEquals(true, Files.isDirectory(out.resolve("step-000005")));
    }

    @Test
    void nEmbdNotDivisibleByNHead() {
        Path out = dir.resolve("new-run");
        String[] args = tinyGpt(out, "--n-embd", "30");
        args[java.util.Arrays.asList(args).indexOf("--n-head") + 1] = "4";
        assertBadInput(run(args), "--n-embd (30) must be divisible by --n-head (4)", "n_embd / n_head");
        assertFalse(Files.exists(out));
    }

    static Stream<Arguments> nonPositiveTrainSettings() {
        return Stream.of(
                Arguments.of("--n-embd", "0", "--n-embd must be positive, got 0"),
                Arguments.of("--n-head", "0", "--n-head must be positive, got 0"),
                Arguments.of("--n-layer", "-1", "--n-layer must be positive, got -1"),
                Arguments.of("--block-size", "0", "--block-size must be positive, got 0"),
                Arguments.of("--batch-size", "0", "--batch-size must be positive, got 0"),
                Arguments.of("--lr", "0", "--lr must be a positive number, got 0.0"),
                Arguments.of("--lr", "-1", "--lr must be a positive number, got -1.0"),
                Arguments.of("--lr", "NaN", "--lr must be a positive number, got NaN"),
                Arguments.of("--max-iters", "0", "--max-iters must be positive, got 0"),
                Arguments.of("--eval-interval", "0", "--eval-interval must be positive, got 0"),
                Arguments.of("--eval-iters", "-5", "--eval-iters must be positive, got -5"),
                Arguments.of("--threads", "0", "--threads must be at least 1, got 0"),
                Arguments.of("--train-fraction", "1", "--train-fraction must be between 0 and 1"),
                Arguments.of("--optimizer", "sgdd", "--optimizer must be adamw, adam or sgd, got 'sgdd'"),
                Arguments.of("--micro-batches", "0", "--micro-batches must be positive, got 0"),
                Arguments.of("--micro-batches", "3", "--micro-batches must divide the batch size: 4 sequences cannot be cut into 3 equal parts"));
    }

    @ParameterizedTest(name = "train {0} {1}")
    @MethodSource("nonPositiveTrainSettings")
    void zeroOrNegativeSizesRatesAndCounts(String option, String value, String message) {
        assertTrainRefused(option, value, message);
    }

    @ParameterizedTest(name = "train --dropout {0}")
    @ValueSource(strings = {"1.0", "-0.1", "1.5"})
    void dropoutOutsideZeroToOne(String p) {
        assertTrainRefused("--dropout", p, "--dropout must be in [0, 1), got " + Float.parseFloat(p));
    }

    @Test
    void resumingWithMicroBatchesThatDoNotDivideTheBatchChangesNothing() throws IOException {
        Map<String, String> before = snapshot(run);
        assertBadInput(run("train", "--out", run.toString(), "--data", data.toString(), "--resume", "--micro-batches", "7"),
                "--micro-batches must divide the batch size", "cannot be cut into 7 equal parts");
        assertUnchanged(before, run);
    }

    @Test
    void sampleMaxNewTokensZero() throws IOException {
        Map<String, String> before = snapshot(run);
        assertBadInput(run("sample", "--checkpoint", run.toString(), "--max-new-tokens", "0"),
                "--max-new-tokens must be at least 1, got 0");
        assertBadInput(run("sample", "--checkpoint", run.toString(), "--num-samples", "-2"),
                "--num-samples must be at least 1, got -2");
        assertUnchanged(before, run);
    }

    @Test
    void evalCountsZero() throws IOException {
        Map<String, String> before = snapshot(run);
        assertBadInput(run("eval", "--checkpoint", run.toString(), "--data", data.toString(), "--eval-iters", "0"),
                "--eval-iters must be at least 1, got 0");
        assertBadInput(run("eval", "--checkpoint", run.toString(), "--data", data.toString(), "--batch-size", "0"),
                "--batch-size must be at least 1, got 0");
        assertBadInput(run("eval", "--checkpoint", run.toString(), "--data", data.toString(), "--threads", "0"),
                "--threads must be at least 1, got 0");
        assertUnchanged(before, run);
    }

    static Stream<Arguments> badSamplingOptions() {
        return Stream.of(
                Arguments.of(new String[]{"--top-p", "0"}, new String[]{"--top-p", "(0, 1]", "got 0.0"}),
                Arguments.of(new String[]{"--top-p", "1.5"}, new String[]{"--top-p", "(0, 1]", "got 1.5"}),
                Arguments.of(new String[]{"--top-k", "0"}, new String[]{"--top-k must be at least 1, got 0"}),
                Arguments.of(new String[]{"--top-k", "-3"}, new String[]{"--top-k must be at least 1, got -3"}),
                Arguments.of(new String[]{"--temperature", "0"}, new String[]{"--temperature", "> 0", "got 0.0", "--greedy"}),
                Arguments.of(new String[]{"--temperature", "-1"}, new String[]{"--temperature", "> 0", "got -1.0"}),
                Arguments.of(new String[]{"--threads", "0"}, new String[]{"--threads must be at least 1, got 0"}));
    }

    @ParameterizedTest(name = "sample {0}")
    @MethodSource("badSamplingOptions")
    void samplingOptionsOutOfRange(String[] option, String[] fragments) throws IOException {
        Map<String, String> before = snapshot(run);
        assertBadInput(run(args("sample", "--checkpoint", run, "--max-new-tokens", "20", option)), fragments);
        assertUnchanged(before, run);
    }

    @Test
    void unknownOptionPrintsUsage() {
        Path out = dir.resolve("new-run");
        assertBadInput(run("train", "--data", data.toString(), "--out", out.toString(), "--learning-rate", "0.1"),
                "Unknown option", "--learning-rate", "Usage: toygpt train");
        assertFalse(Files.exists(out));
        assertBadInput(run("sample", "--checkpoint", run.toString(), "--tokens", "5"), "Unknown option", "--tokens", "Usage: toygpt sample");
    }

    @Test
    void unknownCommandPrintsUsage() {
        assertBadInput(run("generate", "--checkpoint", run.toString()), "Unmatched argument", "'generate'", "Usage: toygpt");
        assertBadInput(run(), "choose a command", "Usage: toygpt");
    }

    @Test
    void unknownModelPrintsUsageAndTheChoices() {
        Path out = dir.resolve("new-run");
        assertBadInput(run(args("train", "--data", data, "--out", out, "--model", "transformer")),
                "--model", "unknown model 'transformer'", "bigram, mlp-onehot, mlp-embedding, gpt", "Usage: toygpt train");
        assertFalse(Files.exists(out));
    }

    @Test
    void unknownPresetPrintsUsageAndTheChoices() {
        Path out = dir.resolve("new-run");
        assertBadInput(run(args("train", "--data", data, "--out", out, "--preset", "huge")),
                "--preset", "unknown preset 'huge'", "seed, baby, lecture", "Usage: toygpt train");
        assertBadInput(run(args("train", "--data", data, "--out", out, "--model", "bigram", "--preset", "baby")),
                "--preset applies to --model gpt only");
        assertFalse(Files.exists(out));
    }

    @ParameterizedTest(name = "--time-limit {0}")
    @ValueSource(strings = {"soon", "perhaps", "5 minutes", "-5m"})
    void timeLimitThatIsNotADuration(String value) {
        Path out = dir.resolve("new-run");
        assertBadInput(run(args("train", "--data", data, "--out", out, TINY_BIGRAM, "--time-limit", value)),
                "--time-limit", "'" + value + "' is not a duration", "90s, 5m", "Usage: toygpt train");
        assertFalse(Files.exists(out));
    }

    @Test
    void timeLimitZero() {
        Path out = dir.resolve("new-run");
        assertBadInput(run(args("train", "--data", data, "--out", out, TINY_BIGRAM, "--time-limit", "0")),
                "--time-limit", "must be positive");
        assertFalse(Files.exists(out));
    }

    @Test
    void timeScheduleWithoutATimeLimit() {
        Path out = dir.resolve("new-run");
        assertBadInput(run(tinyGpt(out, "--schedule", "time")), "--schedule time", "--time-limit");
        assertFalse(Files.exists(out));
    }

    @ParameterizedTest(name = "{0} --help")
    @ValueSource(strings = {"train", "sample", "chat", "eval", "import", "export"})
    void helpOnEveryCommand(String command) {
        for (String[] line : List.of(new String[]{command, "--help"}, new String[]{command, "-h"}, new String[]{"help", command})) {
            Run r = assertSucceeded(run(line));
            assertMentions(r.out(), "Usage: toygpt " + command, "--help");
            assertEquals("", r.err(), () -> "help should print only usage, on stdout\n" + r);
        }
    }

    @Test
    void helpOnTheMainCommand() {
        Run r = assertSucceeded(run("--help"));
        assertMentions(r.out(), "Usage: toygpt", "train", "sample", "chat", "eval", "import", "export");
    }
}
