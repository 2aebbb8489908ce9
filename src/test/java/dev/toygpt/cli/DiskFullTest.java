package dev.toygpt.cli;

import dev.toygpt.io.FailingStorage;
import dev.toygpt.io.Storage;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.MetricsLog;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.TinyRuns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The disk fills up, or the run directory becomes read-only, while a run saves: one clear message (what, where,
 * how much space, the last good checkpoint, the command that continues), exit code 3, no stack trace unless
 * --debug, the last good checkpoint and checkpoints.json untouched, no temporary files left, and the run
 * continues once there is space again. The failures come from {@link FailingStorage}: as root, file
 * permissions cannot stage them.
 */
class DiskFullTest extends CliTestBase {
    @TempDir
    Path dir;

    private Path data;
    private Path out;

    /** A tiny GPT run with checkpoints at steps 10 and 20. */
    private void firstRun() throws IOException {
        data = TinyRuns.writeText(dir);
        out = dir.resolve("run");
        Cli.trainTiny(data, out, 20, "--sample-tokens", "0");
    }

    private Cli.Result resumeTo(int steps, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("train", "--out", out.toString(), "--data", data.toString(), "--resume",
                "--max-iters", Integer.toString(steps), "--sample-tokens", "0"));
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    @ParameterizedTest(name = "disk full in {0} after {1} bytes")
    @CsvSource({
            "metrics.csv, 0",            // the evaluation's row cannot be appended
            "metrics.csv, 12",           // half a row is on disk
            "model.safetensors, 0",
            "model.safetensors, 5000",   // in the middle of the weights
            "config.json, 100",
            "optimizer.safetensors, 20000",
            "state.json, 10",
            "checkpoints.json, 5",       // the checkpoint is complete, naming it fails
    })
    void diskFullWhileSavingLeavesTheLastGoodCheckpointAndSaysHowToContinue(String file, long bytes) throws Exception {
        firstRun();
        Map<String, String> before = snapshot(out);
        Path lastGood = new RunDirectory(out).last();
        FailingStorage disk = FailingStorage.diskFullIn(file, bytes);
        Cli.Result r;
        try (AutoCloseable ignored = Storage.use(disk)) {
            r = resumeTo(40);
        }
        assertEquals(file, disk.failedFile() == null ? null : disk.failedFile().replaceAll("^\\.(.*)\\.[a-z0-9]+\\.tmp$", "$1"),
                "the failure was staged in " + file);
        assertEquals(Main.IO_FAILURE, r.exitCode(), r.toString());
        assertMentions(r.err(), "error: could not save", out.toString(), "No space left on device", file,
                "The last good checkpoint is " + lastGood, "checkpoints.json are unchanged",
                "continue with: ./toygpt train --out " + out + " --data " + data + " --resume");
        if (!file.equals("metrics.csv")) assertMentions(r.err(), "The checkpoint needs about", "MB is free there");
        assertFalse(r.err().contains("\tat "), "no stack trace without --debug:\n" + r.err());
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("error:")).count(), r.err());

        Map<String, String> after = snapshot(out);
        for (String name : List.of(RunDirectory.POINTERS, "step-000020/model.safetensors", "step-000020/optimizer.safetensors",
                "step-000020/state.json", "step-000020/config.json")) {
            assertEquals(before.get(name), after.get(name), name + " is untouched");
        }
        assertTrue(after.keySet().stream().noneMatch(n -> n.contains(".tmp")), "no temporary file or directory is left: " + after.keySet());
        assertEquals(lastGood, new RunDirectory(out).last());
        assertNotNull(Checkpoint.load(lastGood).model());

        // with space again, the hint's command continues the run; metrics.csv has each evaluation once
        Cli.Result resumed = resumeTo(40);
        assertEquals(0, resumed.exitCode(), resumed.toString());
        assertMentions(resumed.err(), "resuming from " + lastGood + " at step 20", "finished 40 steps");
        assertEquals(List.of(0L, 10L, 20L, 30L, 40L), MetricsLog.read(out.resolve(RunDirectory.METRICS)).stream().map(MetricsLog.Row::step).toList());
    }

    @Test
    void debugAddsTheStackTrace() throws Exception {
        firstRun();
        Cli.Result r;
        try (AutoCloseable ignored = Storage.use(FailingStorage.diskFullIn("model.safetensors", 100))) {
            r = resumeTo(40, "--debug");
        }
        assertEquals(Main.IO_FAILURE, r.exitCode(), r.toString());
        assertMentions(r.err(), "No space left on device", "\tat dev.toygpt.");
    }

    @Test
    void aRunDirectoryThatTurnsReadOnlyMidRun() throws Exception {
        firstRun();
        Map<String, String> before = snapshot(out);
        Path lastGood = new RunDirectory(out).last();
        FailingStorage disk = FailingStorage.readOnlyFrom("optimizer.safetensors", 3000);
        Cli.Result r;
        try (AutoCloseable ignored = Storage.use(disk)) {
            r = resumeTo(40);
        }
        assertNotNull(disk.failedFile(), "the failure was staged");
        assertEquals(Main.IO_FAILURE, r.exitCode(), r.toString());
        assertMentions(r.err(), "error: could not save the checkpoint of step 30", "Read-only file system", "optimizer.safetensors",
                "The last good checkpoint is " + lastGood, "make " + out + " writable again", "--resume");
        assertFalse(r.err().contains("\tat "), r.err());
        Map<String, String> after = snapshot(out);
        assertEquals(before.get(RunDirectory.POINTERS), after.get(RunDirectory.POINTERS));
        assertEquals(before.get("step-000020/model.safetensors"), after.get("step-000020/model.safetensors"));
        assertNotNull(Checkpoint.load(lastGood).model());

        // writable again: the run continues and what the read-only disk kept of the failed save is cleaned up
        Cli.Result resumed = resumeTo(40);
        assertEquals(0, resumed.exitCode(), resumed.toString());
        assertTrue(snapshot(out).keySet().stream().noneMatch(n -> n.contains(".tmp")), snapshot(out).keySet().toString());
    }

    /**
     * The same on a real full disk: a tmpfs of 1 MB mounted for the test (root only), filled up after the
     * first checkpoints. Skipped with a message where mount is not permitted, except in CI.
     */
    @Test
    void aRealFullDisk() throws Exception {
        Path disk = Files.createDirectories(dir.resolve("small-disk"));
        if (exec("mount", "-t", "tmpfs", "-o", "size=1m", "toygpt-test", disk.toString()) != 0) {
            if ("true".equals(System.getenv("CI"))) throw new AssertionError("CI runs as root and must be able to mount a tmpfs");
            org.junit.jupiter.api.Assumptions.assumeTrue(false,
                    "mount -t tmpfs is not permitted here (it needs root): the real-disk test is skipped, FailingStorage covers the same code");
        }
        try {
            data = TinyRuns.writeText(dir);
            out = disk.resolve("run");
            Cli.trainTiny(data, out, 20, "--sample-tokens", "0");
            Path lastGood = new RunDirectory(out).last();
            Map<String, String> before = snapshot(out);
            Path filler = disk.resolve("filler");
            try (var f = Files.newOutputStream(filler)) {
                byte[] chunk = new byte[16 << 10];
                for (int i = 0; i < 1000; i++) f.write(chunk); // 16 MB: more than the disk holds
                throw new AssertionError("the 1 MB disk took 16 MB");
            } catch (IOException full) {
                assertMentions(full.getMessage(), "No space left on device");
            }

            Cli.Result r = resumeTo(40);
            assertEquals(Main.IO_FAILURE, r.exitCode(), r.toString());
            assertMentions(r.err(), "error: could not save the checkpoint of step 30", "No space left on device", "model.safetensors",
                    "The checkpoint needs about", "The last good checkpoint is " + lastGood,
                    "continue with: ./toygpt train --out " + out + " --data " + data + " --resume");
            assertFalse(r.err().contains("\tat "), r.err());
            Map<String, String> after = snapshot(out);
            for (String changed : List.of(RunDirectory.METRICS, "loss.png", "loss.svg")) { // the evaluation of step 30 (dropped on resume)
                before.remove(changed);
                after.remove(changed);
            }
            assertEquals(before, after, "checkpoints and checkpoints.json are untouched, no temporary file is left");

            Files.delete(filler);
            Cli.Result resumed = resumeTo(40);
            assertEquals(0, resumed.exitCode(), resumed.toString());
            assertEquals(List.of(0L, 10L, 20L, 30L, 40L), MetricsLog.read(out.resolve(RunDirectory.METRICS)).stream().map(MetricsLog.Row::step).toList());
        } finally {
            assertEquals(0, exec("umount", "-l", disk.toString()), "umount " + disk);
        }
    }

    private static int exec(String... command) throws InterruptedException {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor();
        } catch (IOException noSuchCommand) {
            return -1;
        }
    }

    @Test
    void aFullDiskBeforeTheFirstCheckpointSaysSo() throws Exception {
        data = TinyRuns.writeText(dir);
        out = dir.resolve("fresh");
        Cli.Result r;
        try (AutoCloseable ignored = Storage.use(FailingStorage.diskFullIn("model.safetensors", 0))) {
            r = Cli.run(Cli.tinyGpt(data, out, 20, "--sample-tokens", "0").toArray(String[]::new));
        }
        assertEquals(Main.IO_FAILURE, r.exitCode(), r.toString());
        assertMentions(r.err(), "could not save the checkpoint of step 10", "No checkpoint of this run had been saved yet", "start again");
        assertFalse(Files.exists(out.resolve(RunDirectory.POINTERS)));
    }
}
