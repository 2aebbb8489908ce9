package dev.toygpt.cli;

import dev.toygpt.plot.ChartFiles;
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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A real Ctrl-C during an experiment: the model in training stops, the rest is skipped, and what was reached is reported. */
class ExperimentCtrlCTest {
    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void sigintStopsTheExperimentAndReportsWhatWasReached() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/bin/kill")) || Files.isExecutable(Path.of("/usr/bin/kill")), "no kill command");
        Path data = TinyRuns.writeText(tmp);
        Path out = tmp.resolve("experiment");
        Path stdout = tmp.resolve("child.out"), stderr = tmp.resolve("child.err");
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--add-modules", "jdk.incubator.vector", "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "experiment", "block-size", "--data", data.toString(), "--out", out.toString(),
                "--tiny", "--step-scale", "100")); // 100,000 steps per block size: only Ctrl-C ends it soon
        Process child = new ProcessBuilder(command).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (!read(stderr).contains("[block-8] step 25,000/100,000")) {
                if (!child.isAlive()) fail("the child exited early with " + child.exitValue() + ":\n" + read(stderr));
                if (System.nanoTime() > deadline) fail("no training progress after 90 s:\n" + read(stderr));
                Thread.sleep(10);
            }
            Process kill = new ProcessBuilder("kill", "-INT", Long.toString(child.pid())).inheritIO().start();
            assertEquals(0, kill.waitFor(), "kill -INT failed");
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child did not exit after SIGINT:\n" + read(stderr));
        } finally {
            if (child.isAlive()) child.destroyForcibly();
        }
        String err = read(stderr), report = read(stdout);
        assertEquals(130, child.exitValue(), err);
        // the table has block size 8 at its last evaluation; the other block sizes were skipped
        assertTrue(report.contains("Note: block size 8: stopped at step"), report);
        assertTrue(report.contains("Note: block size 16 not run: stopped (Ctrl-C)"), report);
        assertTrue(report.lines().anyMatch(l -> l.matches(" +8 +[0-9,]+ +25,000 .*")), report);
        assertTrue(report.contains("Result: fewer than two block sizes were trained"), report);
        assertEquals(report, read(out.resolve("summary.txt")));
        ChartFiles.assertPng(out.resolve("block-size.png"));
        // the stopped run is a normal run directory, with its chart, that `train --resume` could continue
        ChartFiles.assertPng(out.resolve("block-8").resolve("loss.png"));
        assertTrue(Files.isRegularFile(out.resolve("block-8").resolve("checkpoints.json")));
    }

    private static String read(Path file) throws IOException {
        return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
    }
}
