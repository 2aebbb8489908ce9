package dev.toygpt.cli;

import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.MetricsLog;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.TinyRuns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A real Ctrl-C: a child JVM runs {@code toygpt train}, gets SIGINT while training, saves a checkpoint and
 * says how to continue; continuing gives exactly the run that was never interrupted.
 */
class CtrlCTest {
    private static final int MAX_ITERS = 3000, EVAL_INTERVAL = 100;

    @TempDir
    Path tmp;

    private List<String> trainArgs(Path data, Path out) {
        return Cli.tinyGpt(data, out, MAX_ITERS, "--eval-interval", Integer.toString(EVAL_INTERVAL), "--eval-iters", "5",
                "--sample-tokens", "20");
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void sigintSavesACheckpointAndResumingGivesTheUninterruptedRun() throws Exception {
        assumeTrue(ToygptChild.canSignal(), "no kill command");
        Path data = TinyRuns.writeText(tmp);
        Path out = tmp.resolve("interrupted");
        String err, stdout;
        int exit;
        try (ToygptChild child = new ToygptChild(tmp, trainArgs(data, out))) {
            // wait until it trains: the first evaluation after step 0 has been printed (and checkpointed)
            child.awaitStderr("step " + EVAL_INTERVAL + ": train loss", 60);
            exit = child.interrupt();
            err = child.err();
            stdout = child.out();
        }
        assertEquals(130, exit, err);
        Matcher stopped = Pattern.compile("stopped at step (\\d+)").matcher(err);
        assertTrue(stopped.find(), "no 'stopped at step N' in:\n" + err);
        long step = Long.parseLong(stopped.group(1));
        assertTrue(step > EVAL_INTERVAL && step < MAX_ITERS, "stopped at " + step + ":\n" + err);
        assertTrue(err.contains("continue with: ./toygpt train --out " + out + " --resume"), "no hint how to continue:\n" + err);
        assertEquals("", stdout, "no sample after an interrupted run");

        RunDirectory run = new RunDirectory(out);
        assertEquals(out.resolve(TinyRuns.stepName(step)), run.last(), "the stop saved a checkpoint of its step");
        Checkpoint.Loaded loaded = Checkpoint.load(run.last());
        assertEquals(8, loaded.model().config().blockSize());
        assertTrue(TinyRuns.entries(out).stream().noneMatch(n -> n.startsWith(".tmp")), TinyRuns.entries(out).toString());
        long lastLogged = MetricsLog.read(run.metricsFile()).stream().mapToLong(MetricsLog.Row::step).max().orElseThrow();
        assertEquals(step / EVAL_INTERVAL * EVAL_INTERVAL, lastLogged);

        // continue as the hint says, in this JVM; compare with a run that was never interrupted
        Cli.Result resumed = Cli.ok("train", "--data", data.toString(), "--out", out.toString(), "--resume", "--sample-tokens", "20");
        assertTrue(resumed.err().contains("resuming from " + run.path().resolve(TinyRuns.stepName(step))), resumed.err());
        assertTrue(resumed.err().contains("finished " + MAX_ITERS + " steps"), resumed.err());

        Path whole = tmp.resolve("whole");
        Cli.Result uninterrupted = Cli.ok(trainArgs(data, whole).toArray(String[]::new));
        assertEquals(TinyRuns.metricsWithoutTime(whole.resolve(RunDirectory.METRICS)), TinyRuns.metricsWithoutTime(run.metricsFile()));
        assertEquals(MAX_ITERS / EVAL_INTERVAL + 2, TinyRuns.metricsWithoutTime(run.metricsFile()).size(), "header and every evaluation");
        assertEquals(-1L, Files.mismatch(new RunDirectory(whole).last().resolve(Checkpoint.MODEL_FILE),
                run.last().resolve(Checkpoint.MODEL_FILE)), "the same final weights");
        assertEquals(uninterrupted.out(), resumed.out(), "the same final sample");
    }

}
