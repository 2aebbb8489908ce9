package dev.toygpt.cli;

import dev.toygpt.kernels.MatMul;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.MetricsLog;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.TinyRuns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
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
        assumeTrue(Files.isExecutable(Path.of("/bin/kill")) || Files.isExecutable(Path.of("/usr/bin/kill")), "no kill command");
        Path data = TinyRuns.writeText(tmp);
        Path out = tmp.resolve("interrupted");
        Path stdout = tmp.resolve("child.out"), stderr = tmp.resolve("child.err");

        // The child must run the kernels this JVM runs (SIMD, or the portable loops of the portable-kernels
        // execution): they round differently, so a run continued with the other kind is not the same run.
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--add-modules", "jdk.incubator.vector", "-Dtoygpt.simd=" + MatMul.SIMD, "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(trainArgs(data, out));
        Process child = new ProcessBuilder(command).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        try {
            // wait until it trains: the first evaluation after step 0 has been printed (and checkpointed)
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!read(stderr).contains("step " + EVAL_INTERVAL + ": train loss")) {
                if (!child.isAlive()) fail("the child exited early with " + child.exitValue() + ":\n" + read(stderr));
                if (System.nanoTime() > deadline) fail("no training progress after 60 s:\n" + read(stderr));
                Thread.sleep(10);
            }
            Process kill = new ProcessBuilder("kill", "-INT", Long.toString(child.pid())).inheritIO().start();
            assertEquals(0, kill.waitFor(), "kill -INT failed");
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child did not exit after SIGINT:\n" + read(stderr));
        } finally {
            if (child.isAlive()) child.destroyForcibly();
        }

        String err = read(stderr);
        assertEquals(130, child.exitValue(), err);
        Matcher stopped = Pattern.compile("stopped at step (\\d+)").matcher(err);
        assertTrue(stopped.find(), "no 'stopped at step N' in:\n" + err);
        long step = Long.parseLong(stopped.group(1));
        assertTrue(step > EVAL_INTERVAL && step < MAX_ITERS, "stopped at " + step + ":\n" + err);
        assertTrue(err.contains("continue with: ./toygpt train --out " + out + " --resume"), "no hint how to continue:\n" + err);
        assertEquals("", read(stdout), "no sample after an interrupted run");

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

    private static String read(Path file) throws IOException {
        return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
    }
}
