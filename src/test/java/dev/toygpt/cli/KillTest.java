package dev.toygpt.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Crash safety, shown: a training child is killed with SIGKILL at random moments, again and again, each time
 * resumed from where the previous one died: half of the kills at any moment, half while a checkpoint is being
 * written (every rename is slowed down by TOYGPT_TEST_RENAME_DELAY_MS to widen that moment). After each kill:
 * checkpoints.json names complete checkpoints that load, the resumed run starts from the last of them (its
 * step), and metrics.csv has no torn or repeated row; at the end the run equals one that was never killed.
 */
class KillTest {
    private static final int KILLS = 20, MAX_ITERS = 400, EVAL_INTERVAL = 5;
    private static final Pattern RESUMING = Pattern.compile("resuming from (\\S+) at step ([0-9,]+)\\R");

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void killedAtRandomMomentsTheRunDirectoryStaysConsistentAndResumes() throws Exception {
        assumeTrue(ToygptChild.canSignal(), "no kill command");
        Path data = TinyRuns.writeText(tmp);
        Path out = tmp.resolve("run");
        List<String> args = Cli.tinyGpt(data, out, MAX_ITERS, "--eval-interval", Integer.toString(EVAL_INTERVAL), "--eval-iters", "2",
                "--sample-tokens", "0");
        List<String> resume = new ArrayList<>(args);
        resume.add("--resume");
        long seed = System.nanoTime();
        Random random = new Random(seed);
        RunDirectory run = new RunDirectory(out);
        int kills = 0, duringWrites = 0;
        Path expected = null; // the checkpoint the next child must resume from
        for (int i = 0; kills < KILLS; i++) {
            assertTrue(i < 2 * KILLS, "too many children finished before they were killed (seed " + seed + ")");
            List<String> before;
            try (ToygptChild child = new ToygptChild(tmp, "child-" + i, Map.of("TOYGPT_TEST_RENAME_DELAY_MS", "20"),
                    expected == null ? args : resume)) {
                if (expected == null) {
                    awaitFile(child, out.resolve(RunDirectory.POINTERS));
                } else {
                    Matcher m = awaitResuming(child);
                    assertEquals(expected.toString(), m.group(1), "resumed from the last complete checkpoint");
                    assertEquals(savedStep(expected), Long.parseLong(m.group(2).replace(",", "")), "at its step");
                    checkMetrics(out, savedStep(expected));
                }
                before = leftovers(out);
                if (i % 2 == 0) {
                    Thread.sleep(random.nextInt(600)); // any moment
                } else { // while its second or third checkpoint is written (so the one before is complete: the run advances)
                    awaitCheckpointWrite(child, out, before, 2 + random.nextInt(2));
                    Thread.sleep(random.nextInt(100));
                }
                if (!child.isAlive()) { // finished the run before the kill: nothing to learn, start over
                    assertEquals(0, child.waitFor(10), child.err());
                    continue;
                }
                child.kill9();
            }
            kills++;
            if (!before.containsAll(leftovers(out))) duringWrites++; // a new half-written file or checkpoint
            expected = checkCheckpoints(run);
        }
        assertTrue(duringWrites >= KILLS / 4, duringWrites + " of " + kills + " kills interrupted a checkpoint write (seed " + seed + ")");
        System.err.printf("KillTest: %d SIGKILLs, %d during a checkpoint write (seed %d)%n", kills, duringWrites, seed);

        long reached = savedStep(expected);
        System.err.printf("KillTest: the killed children reached step %d of %d%n", reached, MAX_ITERS);
        assertTrue(reached >= 10 * EVAL_INTERVAL, "the killed run went on from checkpoint to checkpoint: it reached step " + reached);
        // the last resume runs to the end; the result is the run that was never killed
        List<String> finish = new ArrayList<>(resume);
        Cli.Result last = Cli.ok(finish.toArray(String[]::new));
        assertTrue(last.err().contains("finished " + MAX_ITERS + " steps"), last.err());
        Path whole = tmp.resolve("whole");
        Cli.ok(Cli.tinyGpt(data, whole, MAX_ITERS, "--eval-interval", Integer.toString(EVAL_INTERVAL), "--eval-iters", "2",
                "--sample-tokens", "0").toArray(String[]::new));
        assertEquals(TinyRuns.metricsWithoutTime(whole.resolve(RunDirectory.METRICS)), TinyRuns.metricsWithoutTime(run.metricsFile()),
                "every evaluation once, with the losses of the uninterrupted run");
        assertEquals(-1L, Files.mismatch(new RunDirectory(whole).last().resolve(Checkpoint.MODEL_FILE),
                run.last().resolve(Checkpoint.MODEL_FILE)), "the same final weights");
    }

    /** checkpoints.json names complete checkpoints that load; returns the last one. */
    private static Path checkCheckpoints(RunDirectory run) {
        Path last = run.last(), best = run.best();
        for (Path cp : List.of(last, best)) {
            assertNotNull(Checkpoint.load(cp).model(), cp.toString());
            assertTrue(Files.isRegularFile(cp.resolve(Checkpoint.OPTIMIZER_FILE)) && Files.isRegularFile(cp.resolve(Checkpoint.STATE_FILE)), cp.toString());
            Checkpoint.readSettings(cp);
        }
        return last;
    }

    /** After a resume: the rows up to the checkpoint are whole, in order, each step once. */
    private static void checkMetrics(Path out, long resumedStep) throws IOException {
        String text = Files.readString(out.resolve(RunDirectory.METRICS), StandardCharsets.ISO_8859_1);
        List<String> lines = List.of(text.split("\n", -1));
        assertEquals(MetricsLog.HEADER, lines.get(0));
        long previous = -1;
        // the child is training: its last line may be in the middle of being appended
        for (int i = 1; i < lines.size() - 1; i++) {
            String[] f = lines.get(i).split(",");
            assertEquals(5, f.length, "torn row " + i + " in\n" + text);
            long step = Long.parseLong(f[0]);
            for (int k = 1; k < 5; k++) Double.parseDouble(f[k]);
            assertTrue(step > previous, "step " + step + " after " + previous + " in\n" + text);
            assertEquals(0, step % EVAL_INTERVAL, text);
            previous = step;
        }
        assertTrue(previous >= resumedStep - resumedStep % EVAL_INTERVAL, "the rows up to the checkpoint are kept:\n" + text);
    }

    private static long savedStep(Path checkpoint) throws IOException {
        return new ObjectMapper().readTree(checkpoint.resolve(Checkpoint.STATE_FILE).toFile()).path("state").path("step").asLong();
    }

    /** Waits until the n-th checkpoint write of this child has begun (a new temporary directory), or it has exited. */
    private static void awaitCheckpointWrite(ToygptChild child, Path out, List<String> before, int n) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        java.util.Set<String> seen = new java.util.HashSet<>(before);
        int writes = 0;
        while (child.isAlive() && System.nanoTime() < deadline) {
            for (String name : leftovers(out)) {
                if (name.startsWith(".tmp-step-") && seen.add(name) && ++writes == n) return;
            }
            Thread.sleep(1);
        }
    }

    /** Half-written checkpoints and files (a kill leaves them; the next save removes them). */
    private static List<String> leftovers(Path out) throws IOException {
        return TinyRuns.entries(out).stream().filter(n -> n.startsWith(".tmp-step-") || n.startsWith("." + RunDirectory.POINTERS + ".")).toList();
    }

    /** The child's whole "resuming from ... at step N" line (the test may read while the line is written). */
    private static Matcher awaitResuming(ToygptChild child) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            Matcher m = RESUMING.matcher(child.err());
            if (m.find()) return m;
            assertTrue(child.isAlive(), "the child exited before resuming:\n" + child.err());
            assertTrue(System.nanoTime() < deadline, "no 'resuming from' after 60 s:\n" + child.err());
            Thread.sleep(5);
        }
    }

    private static void awaitFile(ToygptChild child, Path file) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(file)) {
            assertTrue(child.isAlive(), "the child exited early:\n" + child.err());
            assertTrue(System.nanoTime() < deadline, "no " + file + " after 60 s:\n" + child.err());
            Thread.sleep(5);
        }
    }
}
