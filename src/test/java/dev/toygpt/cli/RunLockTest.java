package dev.toygpt.cli;

import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.RunLock;
import dev.toygpt.train.RunLockedException;
import dev.toygpt.train.TinyRuns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * One writer per run directory: a second {@code train} on a run directory in use is refused (exit 2, the
 * holder named, nothing changed), readers are not, and a holder killed with SIGKILL leaves no lock behind.
 */
class RunLockTest extends CliTestBase {
    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void aSecondWriterIsRefusedWhileTheFirstTrainsAndResumeWorksAfterKill9() throws Exception {
        assumeTrue(ToygptChild.canSignal(), "no kill command");
        Path data = TinyRuns.writeText(tmp);
        Path out = tmp.resolve("run");
        Cli.trainTiny(data, out, 20, "--sample-tokens", "0");
        List<String> resume = List.of("train", "--out", out.toString(), "--data", data.toString(), "--resume",
                "--max-iters", "1000000", "--sample-tokens", "0");
        try (ToygptChild first = new ToygptChild(tmp, "first", Map.of(), resume)) {
            first.awaitStderr("resuming from", 60);
            first.awaitStderr("step 30: train loss", 60);
            first.signal("STOP"); // frozen while it holds the lock: its files stay as they are
            try {
                Map<String, String> before = snapshot(out);
                String lockFile = Files.readString(out.resolve(RunLock.FILE));
                try (ToygptChild second = new ToygptChild(tmp, "second", Map.of(), resume)) {
                    assertEquals(Main.BAD_INPUT, second.waitFor(60), second.err());
                    String err = second.err();
                    assertMentions(err, "error: " + out + " is in use by another training run", "process " + first.pid(),
                            "on host " + host(), "running since 20", "Ctrl-C", "--resume", "another --out");
                    assertTrue(!err.contains("\tat "), err);
                }
                assertEquals(before, snapshot(out), "the refused writer changed nothing");
                assertEquals(lockFile, Files.readString(out.resolve(RunLock.FILE)), "nor the lock file");
                Matcher since = Pattern.compile("\"started\":\"([^\"]+)\"").matcher(lockFile);
                assertTrue(since.find() && lockFile.contains("\"pid\":" + first.pid()), lockFile);

                // the same refusal for a writer in this JVM
                assertBadInput(run(resume.toArray(String[]::new)), "in use by another training run", "process " + first.pid());
                assertEquals(before, snapshot(out));

                // readers need no lock
                Cli.Result eval = Cli.run("eval", "--checkpoint", out.toString(), "--data", data.toString(), "--eval-iters", "2");
                assertEquals(0, eval.exitCode(), eval.toString());
                Cli.Result sample = Cli.run("sample", "--checkpoint", out.toString(), "--max-new-tokens", "5");
                assertEquals(0, sample.exitCode(), sample.toString());
            } finally {
                first.signal("CONT");
            }
            first.kill9();
        }
        // the lock file is still there, but the lock went with the killed process
        assertTrue(Files.exists(out.resolve(RunLock.FILE)));
        Path last = new RunDirectory(out).last();
        Cli.Result resumed = Cli.run("train", "--out", out.toString(), "--data", data.toString(), "--resume",
                "--max-iters", Long.toString(stepOf(last) + 10), "--sample-tokens", "0");
        assertEquals(0, resumed.exitCode(), resumed.toString());
        assertMentions(resumed.err(), "resuming from " + last);
    }

    @Test
    void oneJvmCannotTakeTheLockTwiceAndReleasingFreesIt() throws Exception {
        Path run = tmp.resolve("run");
        try (RunLock lock = RunLock.acquire(run)) {
            RunLockedException e = assertThrows(RunLockedException.class, () -> RunLock.acquire(run));
            assertMentions(e.getMessage(), "process " + ProcessHandle.current().pid());
            assertThrows(RunLockedException.class, () -> RunLock.acquire(tmp.resolve("run/../run")), "the same directory by another path");
        }
        RunLock.acquire(run).close();
    }

    static long stepOf(Path checkpoint) {
        Matcher m = Pattern.compile("step-(\\d+)").matcher(checkpoint.getFileName().toString());
        assertTrue(m.find(), checkpoint.toString());
        return Long.parseLong(m.group(1));
    }

    private static String host() throws Exception {
        String h = System.getenv("HOSTNAME");
        return h != null && !h.isBlank() ? h : InetAddress.getLocalHost().getHostName();
    }
}
