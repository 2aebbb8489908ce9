package dev.toygpt.cli;

import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.text.Corpus;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.TinyRuns;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The train command: what it prints where, and how it starts, refuses and continues runs. */
class TrainCommandTest {
    @TempDir
    Path tmp;

    @Test
    void printsTheParameterCountOnStderrAndASampleOnStdout() throws IOException {
        Path data = TinyRuns.writeText(tmp);
        Path out = tmp.resolve("run");
        Cli.Result r = Cli.trainTiny(data, out, 30, "--sample-tokens", "60");

        Corpus corpus = Corpus.load(data);
        long params = LanguageModel.create(ModelConfig.gpt(corpus.vocabulary().size(), 16, 2, 1, 8, 0.1f), new Rng(0)).parameterCount();
        assertTrue(r.err().contains(String.format(Locale.ROOT, "model gpt: %,d parameters", params)), r.toString());
        assertTrue(r.err().contains("n_embd 16, n_head 2, n_layer 1, block_size 8, dropout 0.10"), r.err());
        assertTrue(r.err().contains("step 0: train loss"), r.err());
        assertTrue(r.err().contains("step 30: train loss"), r.err());
        assertTrue(r.err().contains("finished 30 steps"), r.err());

        // stdout is the sample and nothing else: 60 characters of the vocabulary, then a line break
        String sample = r.out();
        assertTrue(sample.endsWith(System.lineSeparator()), sample);
        String text = sample.substring(0, sample.length() - System.lineSeparator().length());
        assertEquals(60, Cli.length(text), sample);
        text.codePoints().forEach(cp -> assertTrue(corpus.vocabulary().contains(cp), "unknown character " + cp));
        assertFalse(sample.contains("loss"), sample);

        RunDirectory run = new RunDirectory(out);
        assertEquals(out.resolve(TinyRuns.stepName(30)), run.last());
        assertTrue(Files.isRegularFile(run.metricsFile()));
        assertEquals(params, Checkpoint.load(run.last()).model().parameterCount());

        // the same command again gives the same run: same losses, same sample
        Cli.Result again = Cli.trainTiny(data, tmp.resolve("again"), 30, "--sample-tokens", "60");
        assertEquals(r.out(), again.out());
        assertEquals(TinyRuns.metricsWithoutTime(run.metricsFile()), TinyRuns.metricsWithoutTime(tmp.resolve("again").resolve("metrics.csv")));
    }

    @Test
    void refusesToOverwriteARunAndResumeNeedsTheSameData() throws IOException {
        Path data = TinyRuns.writeText(tmp);
        Path out = tmp.resolve("run");
        Cli.trainTiny(data, out, 10);

        Cli.Result again = Cli.run(Cli.tinyGpt(data, out, 10).toArray(String[]::new));
        assertEquals(Main.BAD_INPUT, again.exitCode());
        assertTrue(again.err().contains("already holds a run: add --resume"), again.err());

        Cli.Result noOut = Cli.run("train", "--data", data.toString(), "--resume");
        assertEquals(Main.BAD_INPUT, noOut.exitCode());
        assertTrue(noOut.err().contains("--resume needs --out"), noOut.err());

        Cli.Result empty = Cli.run("train", "--data", data.toString(), "--out", tmp.resolve("nothing").toString(), "--resume");
        assertEquals(Main.BAD_INPUT, empty.exitCode());
        assertTrue(empty.err().contains("no checkpoints to resume from"), empty.err());

        Path other = tmp.resolve("other.txt");
        Files.writeString(other, "abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc xyz\n");
        Cli.Result wrongData = Cli.run("train", "--data", other.toString(), "--out", out.toString(), "--resume");
        assertEquals(Main.BAD_INPUT, wrongData.exitCode());
        assertTrue(wrongData.err().contains("resume with the same --data"), wrongData.err());
    }

    @Test
    void resumeWithMoreStepsContinuesAsIfTheRunHadBeenLongerFromTheStart() throws IOException {
        Path data = TinyRuns.writeText(tmp);
        Path whole = tmp.resolve("whole"), extended = tmp.resolve("extended");
        Cli.Result wholeRun = Cli.trainTiny(data, whole, 50, "--sample-tokens", "30");
        Cli.trainTiny(data, extended, 30, "--sample-tokens", "30");
        Cli.Result resumed = Cli.ok("train", "--data", data.toString(), "--out", extended.toString(), "--resume",
                "--max-iters", "50", "--sample-tokens", "30");
        assertTrue(resumed.err().contains("at step 30"), resumed.err());
        assertFalse(resumed.err().contains("step 30: train loss"), "step 30 was evaluated before: " + resumed.err());
        assertTrue(resumed.err().contains("step 40: train loss"), resumed.err());

        assertEquals(TinyRuns.metricsWithoutTime(whole.resolve("metrics.csv")), TinyRuns.metricsWithoutTime(extended.resolve("metrics.csv")));
        assertEquals(Files.mismatch(new RunDirectory(whole).last().resolve(Checkpoint.MODEL_FILE),
                new RunDirectory(extended).last().resolve(Checkpoint.MODEL_FILE)), -1L);
        assertEquals(wholeRun.out(), resumed.out(), "the final sample comes from the same weights");
    }

    @Test
    void aTimeLimitBringsTheScheduleThatDecaysOverIt() throws IOException {
        Path data = TinyRuns.writeText(tmp);
        long start = System.nanoTime();
        Cli.Result limited = Cli.trainTiny(data, tmp.resolve("limited"), 1_000_000, "--time-limit", "2s", "--sample-tokens", "0");
        double wall = (System.nanoTime() - start) / 1e9;
        assertTrue(limited.err().contains("time limit reached"), limited.toString());
        // the closing line says where the time went: its steps are the run's, and its parts fit in the wall time
        var reached = java.util.regex.Pattern.compile("time limit reached after ([0-9,]+) steps").matcher(limited.err());
        var time = java.util.regex.Pattern.compile("time: ([0-9.]+) s training ([0-9,]+) steps \\([0-9,]+ tokens/s\\), ([0-9.]+) s estimating losses,"
                + " ([0-9.]+) s saving checkpoints, ([0-9.]+) s on progress and charts").matcher(limited.err());
        assertTrue(reached.find() && time.find(), limited.err());
        assertEquals(Long.parseLong(reached.group(1).replace(",", "")), Long.parseLong(time.group(2).replace(",", "")));
        double training = Double.parseDouble(time.group(1));
        double parts = training + Double.parseDouble(time.group(3)) + Double.parseDouble(time.group(4)) + Double.parseDouble(time.group(5));
        // not "> 0": on a busy disk the checkpoints can take most of the 2 s, leaving a few steps that print as 0.0 s
        assertTrue(training <= 2.5, "the steps fit in the 2 s limit: " + time.group());
        assertTrue(parts <= wall, "the parts (" + parts + " s) fit in the command's " + wall + " s");
        var settings = Checkpoint.readSettings(new RunDirectory(tmp.resolve("limited")).last());
        assertEquals("time", settings.schedule());
        assertEquals(2.0, settings.timeLimitSeconds());
        // a schedule asked for by name wins
        Cli.Result constant = Cli.trainTiny(data, tmp.resolve("constant"), 1_000_000, "--time-limit", "1s", "--schedule", "constant",
                "--sample-tokens", "0");
        assertEquals("constant", Checkpoint.readSettings(new RunDirectory(tmp.resolve("constant")).last()).schedule(), constant.toString());
    }

    /** --time-limit without --max-iters: the preset's steps are no limit, the run trains until its time is up. */
    @Test
    void aTimeLimitWithoutMaxItersIsTheRunsOnlyBudget() throws IOException {
        Path data = TinyRuns.writeText(tmp);
        Path timed = tmp.resolve("timed");
        Cli.Result r = Cli.ok("train", "--model", "bigram", "--data", data.toString(), "--out", timed.toString(), "--time-limit", "2s",
                "--eval-interval", "2000", "--eval-iters", "4", "--sample-tokens", "0");
        assertTrue(r.err().contains(", 2 s, "), "the settings line gives the time as the budget: " + r.err());
        var reached = java.util.regex.Pattern.compile("time limit reached after ([0-9,]+) steps").matcher(r.err());
        assertTrue(reached.find(), r.err());
        long steps = Long.parseLong(reached.group(1).replace(",", ""));
        assertTrue(steps > 5_000, "past the bigram preset's 5,000 steps in 2 s: " + steps);
        var settings = Checkpoint.readSettings(new RunDirectory(timed).last());
        assertFalse(settings.stepLimited());
        assertEquals("time", settings.schedule());
        var listed = dev.toygpt.train.RunSummary.of(dev.toygpt.train.RunIndex.scan(tmp).run("timed").orElseThrow());
        assertNull(listed.maxIters(), "the run listing has no step limit to show");
        assertTrue(listed.finished(), "its time is up: the playground does not show it as training");
        // resumed with its time up: nothing to train, and the command says what to give instead of NaN losses
        List<String> before = TinyRuns.entries(timed);
        Cli.Result again = Cli.ok("train", "--out", timed.toString(), "--resume", "--data", data.toString());
        assertTrue(again.err().contains(String.format(Locale.ROOT, "nothing to train: the run's budget (2 s) was spent at step %,d", steps))
                && again.err().contains("give --time-limit longer than 2 s (the whole run's time, counted from its start)"), again.err());
        assertFalse(again.err().contains("NaN") || again.err().contains("sample:"), again.err());
        assertEquals(before, TinyRuns.entries(timed));
        Cli.Result longer = Cli.ok("train", "--out", timed.toString(), "--resume", "--data", data.toString(), "--time-limit", "3s");
        assertTrue(longer.err().contains("time limit reached after"), longer.err());
        assertTrue(new RunDirectory(timed).last().getFileName().toString().compareTo(TinyRuns.stepName(steps)) > 0, "it trained on");
        // with --max-iters as well, whichever ends first: here the steps
        Cli.Result both = Cli.ok("train", "--model", "bigram", "--data", data.toString(), "--out", tmp.resolve("both").toString(),
                "--time-limit", "60s", "--max-iters", "300", "--eval-interval", "100", "--eval-iters", "4", "--sample-tokens", "0");
        assertTrue(both.err().contains(", 300 steps or 60 s, ") && both.err().contains("finished 300 steps"), both.err());
        Cli.Result bothAgain = Cli.ok("train", "--out", tmp.resolve("both").toString(), "--resume", "--data", data.toString());
        assertTrue(bothAgain.err().contains("the run's budget (300 steps or 60 s) was spent at step 300")
                && bothAgain.err().contains("give --max-iters above 300."), bothAgain.err());
        // a cosine schedule needs steps to decay over
        Cli.Result cosine = Cli.run("train", "--model", "bigram", "--data", data.toString(), "--out", tmp.resolve("cosine").toString(),
                "--time-limit", "2s", "--schedule", "cosine");
        assertEquals(2, cosine.exitCode(), cosine.toString());
        assertTrue(cosine.err().contains("--schedule cosine decays the learning rate over --max-iters"), cosine.err());
        assertFalse(Files.exists(tmp.resolve("cosine").resolve("metrics.csv")));
    }

    @Test
    void thePresetsMicroBatchesGiveWayToABatchSizeTheyDoNotDivide() throws IOException {
        Path data = TinyRuns.writeText(tmp);
        String[] base = {"train", "--preset", "seed", "--data", data.toString(), "--max-iters", "2", "--eval-interval", "2",
                "--eval-iters", "1", "--sample-tokens", "0", "--block-size", "8", "--n-embd", "16", "--n-layer", "1"};
        Cli.Result seed = Cli.ok(concat(base, "--out", tmp.resolve("seed").toString()));
        assertEquals(2, Checkpoint.readSettings(new RunDirectory(tmp.resolve("seed")).last()).microBatches(), seed.toString());
        Cli.Result odd = Cli.ok(concat(base, "--out", tmp.resolve("odd").toString(), "--batch-size", "7"));
        assertEquals(1, Checkpoint.readSettings(new RunDirectory(tmp.resolve("odd")).last()).microBatches(), odd.toString());
        Cli.Result four = Cli.ok(concat(base, "--out", tmp.resolve("four").toString(), "--batch-size", "8", "--micro-batches", "4"));
        assertEquals(4, Checkpoint.readSettings(new RunDirectory(tmp.resolve("four")).last()).microBatches(), four.toString());
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
