package dev.toygpt.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusTest {
    @TempDir
    Path dir;

    @Test
    void loadsTinyShakespeare() {
        Path file = TestData.shakespeare();
        Corpus corpus = Corpus.load(file);
        assertEquals(file.toString(), corpus.name());
        assertEquals(1_115_394, corpus.length());
        assertEquals(1_115_394, corpus.tokens().length);
        assertEquals(65, corpus.vocabulary().size());
        assertTrue(corpus.text().startsWith("First Citizen:\n"));
        // data[:15] in the notebook: "First Citizen:\n"
        assertArrayEquals(new int[] {18, 47, 56, 57, 58, 1, 15, 47, 58, 47, 64, 43, 52, 10, 0},
                Arrays.copyOf(corpus.tokens(), 15));
    }

    @Test
    void splitsTinyShakespeareLikeTheNotebook() {
        Corpus corpus = Corpus.load(TestData.shakespeare());
        Split split = corpus.split(0.9);
        // n = int(0.9 * len(data)) = int(1003854.6)
        assertEquals(1_003_854, split.train().length);
        assertEquals(111_540, split.val().length);
        int[] tokens = corpus.tokens();
        assertArrayEquals(Arrays.copyOfRange(tokens, 0, 1_003_854), split.train());
        assertArrayEquals(Arrays.copyOfRange(tokens, 1_003_854, tokens.length), split.val());
    }

    @Test
    void ofEncodesText() {
        Corpus corpus = Corpus.of("tiny", "abcab");
        assertEquals("tiny", corpus.name());
        assertEquals("abcab", corpus.text());
        assertArrayEquals(new int[] {0, 1, 2, 0, 1}, corpus.tokens());
        assertEquals("Corpus[tiny, 5 characters, 3 distinct]", corpus.toString());
    }

    @Test
    void tokensReturnsACopy() {
        Corpus corpus = Corpus.of("t", "ab");
        corpus.tokens()[0] = 99;
        assertArrayEquals(new int[] {0, 1}, corpus.tokens());
    }

    @Test
    void loadsMultiByteCharactersAsSingleTokens() throws IOException {
        Path file = write("utf8.txt", "héllo 😀\n".getBytes(StandardCharsets.UTF_8));
        Corpus corpus = Corpus.load(file);
        assertEquals("héllo 😀\n", corpus.text());
        assertEquals(8, corpus.length());
        assertEquals(7, corpus.vocabulary().size());
    }

    @Test
    void keepsWindowsLineEndings() throws IOException {
        Corpus corpus = Corpus.load(write("crlf.txt", "ab\r\nba\r\n".getBytes(StandardCharsets.UTF_8)));
        assertEquals("ab\r\nba\r\n", corpus.text());
        assertTrue(corpus.vocabulary().contains('\r'));
    }

    @Test
    void stripsALeadingByteOrderMark() throws IOException {
        byte[] bytes = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, 'a', 'b', 'a'};
        Corpus corpus = Corpus.load(write("bom.txt", bytes));
        assertEquals("aba", corpus.text());
        assertEquals(2, corpus.vocabulary().size());
    }

    @Test
    void missingFile() {
        Path missing = dir.resolve("nope.txt");
        DataException e = assertThrows(DataException.class, () -> Corpus.load(missing));
        assertEquals("data file not found: " + missing.toAbsolutePath(), e.getMessage());
    }

    @Test
    void directoryInsteadOfFile() {
        DataException e = assertThrows(DataException.class, () -> Corpus.load(dir));
        assertEquals("data file " + dir + " is a directory; give the path of a text file", e.getMessage());
    }

    @Test
    void unreadableFile() throws IOException {
        Path file = write("secret.txt", "abc".getBytes(StandardCharsets.UTF_8));
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("---------"));
        } catch (UnsupportedOperationException e) {
            assumeFalse(true, "no POSIX permissions on this file system");
        }
        // root (as in many containers) can read the file anyway.
        assumeFalse(Files.isReadable(file), "permissions are not enforced for this user");
        DataException e = assertThrows(DataException.class, () -> Corpus.load(file));
        assertEquals("cannot read data file " + file + ": permission denied", e.getMessage());
    }

    @Test
    void invalidUtf8GivesTheByteOffset() throws IOException {
        // "hello\nw" then a lone 0xFF (never valid in UTF-8) at byte offset 7, on line 2.
        byte[] bytes = {'h', 'e', 'l', 'l', 'o', '\n', 'w', (byte) 0xFF, 'r', 'l', 'd'};
        Path file = write("bad.txt", bytes);
        DataException e = assertThrows(DataException.class, () -> Corpus.load(file));
        assertEquals("data file " + file + " is not valid UTF-8: invalid byte sequence 0xFF at byte offset 7"
                + " (line 2). Convert the file to UTF-8 (for example: iconv -f latin1 -t utf-8 in.txt > out.txt)",
                e.getMessage());
    }

    @Test
    void latin1TextIsRejectedAtTheFirstAccent() throws IOException {
        Path file = write("latin1.txt", "naïve café".getBytes(StandardCharsets.ISO_8859_1));
        DataException e = assertThrows(DataException.class, () -> Corpus.load(file));
        assertTrue(e.getMessage().contains("invalid byte sequence 0xEF at byte offset 2 (line 1)"), e.getMessage());
    }

    @Test
    void invalidUtf8AfterMultiByteCharactersCountsBytes() throws IOException {
        byte[] good = "é😀\n".getBytes(StandardCharsets.UTF_8); // 2 + 4 + 1 bytes
        byte[] bytes = Arrays.copyOf(good, good.length + 2);
        bytes[good.length] = 'x';
        bytes[good.length + 1] = (byte) 0x80; // a continuation byte with nothing to continue
        Path file = write("bad2.txt", bytes);
        DataException e = assertThrows(DataException.class, () -> Corpus.load(file));
        assertTrue(e.getMessage().contains("invalid byte sequence 0x80 at byte offset 8 (line 2)"), e.getMessage());
    }

    @Test
    void truncatedCharacterAtTheEnd() throws IOException {
        byte[] bytes = {'a', 'b', (byte) 0xE2, (byte) 0x82}; // first two bytes of the euro sign
        Path file = write("cut.txt", bytes);
        DataException e = assertThrows(DataException.class, () -> Corpus.load(file));
        assertTrue(e.getMessage().contains("invalid byte sequence 0xE2 0x82 at byte offset 2 (line 1)"),
                e.getMessage());
    }

    @Test
    void encodedSurrogateIsInvalid() throws IOException {
        // CESU-style encoding of a surrogate half, which strict UTF-8 forbids.
        byte[] bytes = {'o', 'k', (byte) 0xED, (byte) 0xA0, (byte) 0x80};
        Path file = write("surrogate.txt", bytes);
        DataException e = assertThrows(DataException.class, () -> Corpus.load(file));
        assertTrue(e.getMessage().contains("at byte offset 2 (line 1)"), e.getMessage());
    }

    @Test
    void emptyFile() throws IOException {
        Path file = write("empty.txt", new byte[0]);
        DataException e = assertThrows(DataException.class, () -> Corpus.load(file));
        assertEquals("data file " + file + " is empty", e.getMessage());
    }

    @Test
    void fileWithOnlyAByteOrderMarkIsEmpty() throws IOException {
        Path file = write("bom-only.txt", new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
        DataException e = assertThrows(DataException.class, () -> Corpus.load(file));
        assertEquals("data file " + file + " is empty", e.getMessage());
    }

    @Test
    void singleDistinctCharacter() throws IOException {
        Path file = write("aaaa.txt", "aaaa".getBytes(StandardCharsets.UTF_8));
        DataException e = assertThrows(DataException.class, () -> Corpus.load(file));
        assertEquals("data file " + file + " contains only one distinct character, 'a'; a language model needs"
                + " at least 2 distinct characters to learn anything", e.getMessage());
    }

    @Test
    void ofRejectsEmptyAndSingleCharacterText() {
        assertEquals("text x is empty",
                assertThrows(DataException.class, () -> Corpus.of("x", "")).getMessage());
        assertTrue(assertThrows(DataException.class, () -> Corpus.of("x", "\n\n")).getMessage()
                .startsWith("text x contains only one distinct character, '\\n'; "));
    }

    @Test
    void fileTooLargeToReadIntoMemory() throws IOException {
        Path file = dir.resolve("huge.txt");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(3L << 30); // sparse: takes no disk space
        } catch (IOException e) {
            assumeFalse(true, "cannot create a sparse 3 GB file here: " + e);
        }
        DataException e = assertThrows(DataException.class, () -> Corpus.load(file));
        assertEquals("data file " + file + " is too large (3221225472 bytes); ToyGPT reads the whole text into"
                + " memory and supports files up to 2 GB", e.getMessage());
    }

    @Test
    void splitRoundsTheTrainingPartDown() {
        Corpus corpus = Corpus.of("t", "abcdefg"); // 0.9 * 7 = 6.3
        Split split = corpus.split(0.9);
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5}, split.train());
        assertArrayEquals(new int[] {6}, split.val());
        assertEquals("Split[train=6 tokens, val=1 tokens]", split.toString());
        assertEquals(new Split(new int[] {0, 1, 2, 3, 4, 5}, new int[] {6}), split);
    }

    @Test
    void splitWithFractionOneLeavesNoValidation() {
        Split split = Corpus.of("t", "abab").split(1.0);
        assertEquals(4, split.train().length);
        assertEquals(0, split.val().length);
    }

    @Test
    void splitRejectsBadFractions() {
        Corpus corpus = Corpus.of("t", "abab");
        for (double bad : new double[] {0.0, -0.5, 1.5, Double.NaN}) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> corpus.split(bad));
            assertEquals("train fraction must be in (0, 1], got " + bad, e.getMessage());
        }
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }
}
