package dev.toygpt.text;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * A training text, its vocabulary and its tokens.
 *
 * <p>The text is kept exactly as read (apart from a leading byte-order mark): line endings are not
 * normalised, so a file saved with Windows line endings has {@code '\r'} in its vocabulary.
 *
 * <p>Construction checks what would otherwise fail much later, or silently: the text must be UTF-8,
 * non-empty and contain at least two distinct characters (with one, there is nothing to predict).
 */
public final class Corpus {
    /** Files.readAllBytes cannot read more into one array; checked up front for a clear message. */
    static final long MAX_FILE_BYTES = Integer.MAX_VALUE - 16;

    private final String name;
    private final String text;
    private final Vocabulary vocabulary;
    private final int[] tokens;

    private Corpus(String name, String what, String text) {
        this.name = name;
        this.text = text;
        if (text.isEmpty()) {
            throw new DataException(what + " is empty");
        }
        this.vocabulary = Vocabulary.fromText(text);
        if (vocabulary.size() < 2) {
            throw new DataException(what + " contains only one distinct character, "
                    + Vocabulary.describeChar(vocabulary.codePoints()[0])
                    + "; a language model needs at least 2 distinct characters to learn anything");
        }
        this.tokens = vocabulary.encode(text);
    }

    private Corpus(Corpus text, Vocabulary vocabulary) {
        this.name = text.name;
        this.text = text.text;
        this.vocabulary = vocabulary;
        this.tokens = vocabulary.encode(text.text);
    }

    /**
     * The same text tokenized with another vocabulary, a trained model's, which must hold every character
     * of the text (fine-tuning a model on a new text, or resuming such a run).
     *
     * @throws DataException listing the characters the vocabulary lacks
     */
    public Corpus withVocabulary(Vocabulary other) {
        int[] missing = other.missingFrom(text);
        if (missing.length > 0) {
            throw new DataException(name + " has " + missing.length + (missing.length == 1 ? " character" : " characters")
                    + " the model's vocabulary lacks: " + Vocabulary.describeChars(missing));
        }
        return new Corpus(this, other);
    }

    /**
     * Reads a UTF-8 text file.
     *
     * @throws DataException if the file is missing, unreadable, a directory, too large, not valid UTF-8
     *     (the message gives the byte offset of the first bad byte), empty, or has a single distinct
     *     character
     */
    public static Corpus load(Path file) {
        Objects.requireNonNull(file, "file");
        String what = "data file " + file;
        if (Files.isDirectory(file)) {
            throw new DataException(what + " is a directory; give the path of a text file");
        }
        if (!Files.exists(file)) {
            throw new DataException("data file not found: " + file.toAbsolutePath());
        }
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new DataException(what + " is too large (" + size
                        + " bytes); ToyGPT reads the whole text into memory and supports files up to 2 GB");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new DataException("data file not found: " + file.toAbsolutePath(), e);
        } catch (AccessDeniedException e) {
            throw new DataException("cannot read " + what + ": permission denied", e);
        } catch (IOException e) {
            throw new DataException("cannot read " + what + ": " + e, e);
        }
        return new Corpus(file.toString(), what, decodeUtf8(bytes, what));
    }

    /** A corpus from text already in memory; {@code name} is used in messages and metadata. */
    public static Corpus of(String name, String text) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(text, "text");
        return new Corpus(name, "text " + name, text);
    }

    /**
     * Strict UTF-8 decoding. {@code new String(bytes, UTF_8)} would quietly turn bad bytes into U+FFFD,
     * which would then become a token the model learns; a file in another encoding should be an error
     * that says where the problem is, so it can be found and fixed.
     */
    static String decodeUtf8(byte[] bytes, String what) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        // UTF-8 never needs more UTF-16 units than bytes, so one buffer of that size always suffices.
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (result.isError()) {
            // On error the decoder leaves the input positioned at the first byte of the bad sequence.
            throw invalidUtf8(bytes, in.position(), result.length(), what);
        }
        if (result.isOverflow()) {
            throw new IllegalStateException("UTF-8 output buffer overflow");
        }
        decoder.flush(out);
        out.flip();
        String text = out.toString();
        // A byte-order mark is an encoding marker some editors write, not text.
        return text.startsWith("\uFEFF") ? text.substring(1) : text;
    }

    private static DataException invalidUtf8(byte[] bytes, int offset, int length, String what) {
        int line = 1;
        for (int i = 0; i < offset; i++) {
            if (bytes[i] == '\n') {
                line++;
            }
        }
        StringBuilder bad = new StringBuilder();
        for (int i = offset; i < Math.min(offset + length, bytes.length); i++) {
            bad.append(bad.length() == 0 ? "" : " ").append(String.format("0x%02X", bytes[i] & 0xFF));
        }
        return new DataException(what + " is not valid UTF-8: invalid byte sequence " + bad
                + " at byte offset " + offset + " (line " + line + "). Convert the file to UTF-8"
                + " (for example: iconv -f latin1 -t utf-8 in.txt > out.txt)");
    }

    /** The file path given to {@link #load}, or the name given to {@link #of}. */
    public String name() {
        return name;
    }

    public String text() {
        return text;
    }

    public Vocabulary vocabulary() {
        return vocabulary;
    }

    /** The encoded text, one token per character (a fresh copy on each call). */
    public int[] tokens() {
        return tokens.clone();
    }

    /** Number of tokens, i.e. of characters (code points) in the text. */
    public int length() {
        return tokens.length;
    }

    /**
     * Splits the tokens into a training part (the first {@code trainFraction}) and a validation part
     * (the rest), as the course does with {@code n = int(0.9 * len(data))}: the count is rounded down.
     * The validation text is the end of the file, not a random sample, so that it is text the model
     * has not seen, not shuffled neighbours of training windows.
     *
     * @param trainFraction in (0, 1]; 1 leaves no validation data
     * @throws IllegalArgumentException if the fraction is outside (0, 1]
     */
    public Split split(double trainFraction) {
        if (!(trainFraction > 0.0 && trainFraction <= 1.0)) {
            throw new IllegalArgumentException("train fraction must be in (0, 1], got " + trainFraction);
        }
        int n = (int) (trainFraction * tokens.length);
        return new Split(Arrays.copyOfRange(tokens, 0, n),
                Arrays.copyOfRange(tokens, n, tokens.length));
    }

    @Override
    public String toString() {
        return "Corpus[" + name + ", " + tokens.length + " characters, " + vocabulary.size() + " distinct]";
    }
}
