package dev.toygpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;

/**
 * Runs the command line in-process with its streams captured, and checks what bad input must do: exit
 * code 2, a message on stderr, nothing on stdout, and no change to anything already saved.
 */
abstract class CliTestBase {
    /** What one command did. */
    record Run(int exit, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout:\n" + out + "\n--- stderr:\n" + err;
        }
    }

    /** A play-like text: a few speakers, short speeches, blank lines between them (about 4,400 characters). */
    static final String PLAY = ("FIRST CITIZEN:\nBefore we proceed any further, hear me speak.\n\n"
            + "ALL:\nSpeak, speak.\n\n"
            + "FIRST CITIZEN:\nYou are all resolved rather to die than to famish?\n\n"
            + "SECOND CITIZEN:\nWould you proceed especially against Caius Marcius?\n\n").repeat(20);

    /** The smallest training that saves checkpoints: two evaluations, at steps 10 and 20. */
    static final List<String> TINY_BIGRAM = List.of("--model", "bigram", "--max-iters", "20", "--eval-interval", "10",
            "--eval-iters", "2", "--sample-tokens", "0");

    /** Runs a command line as {@code toygpt args...} would, with empty stdin. */
    static Run run(String... args) {
        return run(new ByteArrayInputStream(new byte[0]), args);
    }

    static Run run(InputStream in, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        Console.redirect(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), in);
        int exit;
        try {
            exit = Main.run(args);
        } finally {
            restoreConsole();
        }
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Joins option lists and single arguments (Strings, Paths) into one command line. */
    static String[] args(Object... parts) {
        List<String> all = new ArrayList<>();
        for (Object p : parts) {
            if (p instanceof List<?> list) {
                list.forEach(x -> all.add(x.toString()));
            } else if (p instanceof String[] array) {
                all.addAll(Arrays.asList(array));
            } else {
                all.add(p.toString());
            }
        }
        return all.toArray(String[]::new);
    }

    @AfterEach
    void restoreAfterEach() {
        restoreConsole();
    }

    @AfterAll
    static void restoreAfterAll() {
        restoreConsole();
    }

    static void restoreConsole() {
        Console.redirect(new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8),
                new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8), System.in);
    }

    /**
     * Exit code 2, nothing on stdout, and a message on stderr that contains every fragment (ignoring case)
     * and is not an internal error with a stack trace.
     */
    static Run assertBadInput(Run r, String... fragments) {
        assertEquals(Main.BAD_INPUT, r.exit(), () -> "expected exit code 2 for bad input\n" + r);
        assertEquals("", r.out(), () -> "a failing command must print nothing on stdout\n" + r);
        assertFalse(r.err().isBlank(), () -> "no message on stderr\n" + r);
        assertFalse(r.err().contains("internal error") || r.err().contains("\tat "), () -> "bad input reported as a crash\n" + r);
        assertMentions(r.err(), fragments);
        return r;
    }

    static void assertMentions(String text, String... fragments) {
        for (String f : fragments) {
            assertTrue(text.toLowerCase().contains(f.toLowerCase()), () -> "the message should mention \"" + f + "\":\n" + text);
        }
    }

    static Run assertSucceeded(Run r) {
        assertEquals(0, r.exit(), () -> "expected success\n" + r);
        return r;
    }

    static Path write(Path file, String text) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        return Files.writeString(file, text, StandardCharsets.UTF_8);
    }

    /** Trains the tiny bigram on text into out (checkpoint step-000020) and checks that it worked. */
    static Path trainTinyBigram(Path data, Path out) {
        assertSucceeded(run(args("train", "--data", data, "--out", out, TINY_BIGRAM)));
        assertTrue(Files.isDirectory(out.resolve("step-000020")), "the tiny run should save step-000020");
        return out;
    }

    /**
     * Every file and directory under dir, by relative path, with the SHA-256 of each file's bytes; compare
     * two snapshots to prove nothing was created, changed or deleted.
     */
    static SortedMap<String, String> snapshot(Path dir) throws IOException {
        SortedMap<String, String> files = new TreeMap<>();
        if (!Files.exists(dir)) return files;
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.toList()) {
                String name = dir.relativize(p).toString().replace('\\', '/');
                if (name.equals(dev.toygpt.train.RunLock.FILE)) continue; // says who trains the run, is not part of it
                files.put(name.isEmpty() ? "." : name, Files.isDirectory(p) ? "(directory)" : sha256(Files.readAllBytes(p)));
            }
        }
        return files;
    }

    static void assertUnchanged(Map<String, String> before, Path dir) throws IOException {
        SortedMap<String, String> after = snapshot(dir);
        assertEquals(before, after, () -> "the failing command changed " + dir + ": " + difference(before, after));
    }

    private static String difference(Map<String, String> before, Map<String, String> after) {
        Map<String, String> diff = new LinkedHashMap<>();
        before.forEach((k, v) -> {
            if (!after.containsKey(k)) diff.put(k, "deleted");
            else if (!after.get(k).equals(v)) diff.put(k, "modified");
        });
        after.keySet().stream().filter(k -> !before.containsKey(k)).forEach(k -> diff.put(k, "created"));
        return diff.toString();
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** Copies a directory tree (a checkpoint or a run) so a test can damage its own copy. */
    static Path copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target);
            }
        }
        return to;
    }
}
