package dev.toygpt.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad --data files (cases 1-4): train must refuse them without creating its run directory, and eval
 * must refuse them without touching the checkpoint it was given.
 */
class BadDataTest extends CliTestBase {
    @TempDir
    static Path shared;
    static Path run;

    @TempDir
    Path dir;

    @BeforeAll
    static void trainOnce() throws IOException {
        run = trainTinyBigram(write(shared.resolve("play.txt"), PLAY), shared.resolve("run"));
    }

    /** train and eval on the bad file both exit 2 with the fragments in their message, and change nothing. */
    private void assertRefusedByTrainAndEval(Path data, String... fragments) throws IOException {
        Path out = dir.resolve("new-run");
        assertBadInput(run(args("train", "--data", data, "--out", out, TINY_BIGRAM)), fragments);
        assertFalse(Files.exists(out), "a refused train must not create its run directory");

        Map<String, String> before = snapshot(run);
        assertBadInput(run("eval", "--checkpoint", run.toString(), "--data", data.toString(), "--eval-iters", "2"), fragments);
        assertUnchanged(before, run);
    }

    @Test
    void missingDataFileIsNamed() throws IOException {
        Path missing = dir.resolve("no-such-play.txt");
        assertRefusedByTrainAndEval(missing, "not found", missing.toAbsolutePath().toString());
    }

    @Test
    void unreadableDataFile() throws IOException {
        Path file = write(dir.resolve("secret.txt"), PLAY);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("---------"));
        try {
            assumeFalse(Files.isReadable(file), "running as root: chmod 000 does not stop reading");
            assertRefusedByTrainAndEval(file, "cannot read", file.toString(), "permission denied");
        } finally {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        }
    }

    @Test
    void dataPathIsADirectory() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("texts"));
        assertRefusedByTrainAndEval(folder, folder.toString(), "is a directory", "text file");
    }

    @Test
    void emptyText() throws IOException {
        assertRefusedByTrainAndEval(write(dir.resolve("empty.txt"), ""), "empty.txt", "is empty");
    }

    @Test
    void singleDistinctCharacter() throws IOException {
        assertRefusedByTrainAndEval(write(dir.resolve("aaaa.txt"), "aaaa"),
                "aaaa.txt", "only one distinct character", "'a'", "at least 2");
    }

    @Test
    void invalidUtf8GivesTheByteOffset() throws IOException {
        // "ALL:\nSpeak, sp" is 14 bytes; then a Latin-1 e-acute (0xE9), which is not UTF-8.
        byte[] head = "ALL:\nSpeak, sp".getBytes(StandardCharsets.US_ASCII);
        byte[] tail = "ak.\n".getBytes(StandardCharsets.US_ASCII);
        byte[] bytes = new byte[head.length + 1 + tail.length];
        System.arraycopy(head, 0, bytes, 0, head.length);
        bytes[head.length] = (byte) 0xE9;
        System.arraycopy(tail, 0, bytes, head.length + 1, tail.length);
        Path file = Files.write(dir.resolve("latin1.txt"), bytes);
        assertRefusedByTrainAndEval(file, "not valid UTF-8", "byte offset 14", "0xE9", "line 2");
    }

    @Test
    void trainSplitShorterThanABlockSaysTheSizesAndWhatToChange() throws IOException {
        // 62 characters: 55 for training, 7 for validation, far too few for windows of 64 + 1.
        Path data = write(dir.resolve("short.txt"), "FIRST CITIZEN:\nBefore we proceed any further, hear me speak.\n\n");
        Path out = dir.resolve("new-run");
        Run r = assertBadInput(run(args("train", "--data", data, "--out", out, "--model", "gpt", "--n-embd", "16", "--n-head", "2",
                "--n-layer", "1", "--block-size", "64", "--batch-size", "4", "--max-iters", "10", "--sample-tokens", "0")),
                "short.txt", "too short", "block size 64", "validation split has 7 characters", "training 55", "65",
                "--block-size to at most 6", "longer text");
        assertFalse(r.err().contains("model gpt:"), "the sizes are checked before the model is built");
        assertFalse(Files.exists(out), "a refused train must not create its run directory");
    }

    @Test
    void textTooShortForTheModelsBlockSizeInEval() throws IOException {
        // Only characters the model knows, but 7 validation characters cannot fill a window of 8 + 1.
        Path data = write(dir.resolve("short.txt"), "FIRST CITIZEN:\nBefore we proceed any further, hear me speak.\n\n");
        Map<String, String> before = snapshot(run);
        Run r = assertBadInput(run("eval", "--checkpoint", run.toString(), "--data", data.toString(), "--eval-iters", "2"),
                "short.txt", "too short", "block size 8", "validation part 7", "9", "longer text");
        assertFalse(r.err().contains("--block-size"), "eval has no --block-size option to suggest");
        assertUnchanged(before, run);
    }
}
