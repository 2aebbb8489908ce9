package dev.toygpt.text;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The character-level tokenizer: one token per distinct Unicode code point of the training text,
 * numbered in increasing code-point order.
 *
 * <p>This is the Java form of the course's {@code chars = sorted(list(set(text)))}. Python strings
 * are sequences of code points, so an emoji or a precomposed accented letter is a single token
 * there; a Java {@code char} is only a UTF-16 unit, and splitting on chars would cut such a
 * character into two surrogate "tokens" and also sort differently. So everything here works on
 * code points ({@code int}), never on {@code char}s. (A letter written as base letter plus
 * combining accent is two code points, hence two tokens, exactly as in Python.)
 *
 * <p>Instances are immutable. Two vocabularies are equal when they hold the same code points, which
 * is how a checkpoint can be checked against the text it is used with.
 */
public final class Vocabulary {
    /** Longest listing {@link #describe()} prints before it abbreviates. */
    private static final int DESCRIBE_LIMIT = 200;

    /**
     * The code points in id order: token id i is codePoints[i]. Strictly increasing, except in a vocabulary
     * extended for fine-tuning, where the characters added come after the original ones.
     */
    private final int[] codePoints;
    /** Number of entries at the end that were appended by {@link #extendedWith}. */
    private final int appended;
    /** The code points sorted, and each one's id, for lookups. */
    private final int[] sorted;
    private final int[] sortedIds;
    /** Fast path for ASCII, which is nearly all of English text: asciiIds[c] is the id or -1. */
    private final int[] asciiIds = new int[128];

    private Vocabulary(int[] codePoints, int appended) {
        this.codePoints = codePoints;
        this.appended = appended;
        Integer[] order = new Integer[codePoints.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        if (appended > 0) Arrays.sort(order, (a, b) -> Integer.compare(codePoints[a], codePoints[b]));
        this.sorted = new int[codePoints.length];
        this.sortedIds = new int[codePoints.length];
        for (int i = 0; i < order.length; i++) {
            sorted[i] = codePoints[order[i]];
            sortedIds[i] = order[i];
        }
        Arrays.fill(asciiIds, -1);
        for (int id = 0; id < codePoints.length; id++) {
            if (codePoints[id] < 128) asciiIds[codePoints[id]] = id;
        }
    }

    /** The vocabulary of a text: its distinct code points in increasing order. */
    public static Vocabulary fromText(String text) {
        Objects.requireNonNull(text, "text");
        // A bit per possible code point (136 KB) both deduplicates and sorts in one pass.
        BitSet seen = new BitSet(Character.MAX_CODE_POINT + 1);
        text.codePoints().forEach(seen::set);
        return new Vocabulary(seen.stream().toArray(), 0);
    }

    /**
     * A vocabulary from an explicit list, for example one read back from a checkpoint. The list must be
     * strictly increasing (so sorted and without duplicates) and hold only valid code points, because a
     * different order would silently give every token a different id than the one the model learned.
     *
     * @throws IllegalArgumentException naming the first offending entry
     */
    public static Vocabulary fromCodePoints(int[] sortedCodePoints) {
        return fromCodePoints(sortedCodePoints, 0);
    }

    /**
     * A vocabulary read back from a checkpoint of a fine-tuned model whose vocabulary was extended: the last
     * {@code appended} entries are the characters added (strictly increasing among themselves, and new),
     * the ones before them the original vocabulary (strictly increasing).
     *
     * @throws IllegalArgumentException naming the first offending entry
     */
    public static Vocabulary fromCodePoints(int[] codePoints, int appended) {
        Objects.requireNonNull(codePoints, "codePoints");
        if (appended < 0 || appended > codePoints.length) {
            throw new IllegalArgumentException("vocabulary: " + appended + " appended characters, but it has " + codePoints.length);
        }
        int[] copy = codePoints.clone();
        int base = copy.length - appended;
        for (int i = 0; i < copy.length; i++) {
            if (!Character.isValidCodePoint(copy[i])) {
                throw new IllegalArgumentException(
                        "vocabulary entry " + i + " is not a Unicode code point: " + copy[i]);
            }
            if (i > 0 && i != base && copy[i] <= copy[i - 1]) {
                throw new IllegalArgumentException("vocabulary code points must be strictly increasing, but entry "
                        + i + " " + describeChar(copy[i]) + " comes after entry " + (i - 1) + " "
                        + describeChar(copy[i - 1]));
            }
        }
        Vocabulary v = new Vocabulary(copy, appended);
        for (int i = 1; i < v.sorted.length; i++) {
            if (v.sorted[i] == v.sorted[i - 1]) {
                throw new IllegalArgumentException("vocabulary entry " + Math.max(v.sortedIds[i], v.sortedIds[i - 1]) + " "
                        + describeChar(v.sorted[i]) + " is already in the vocabulary");
            }
        }
        return v;
    }

    /**
     * This vocabulary plus the given characters, for fine-tuning on a text with characters the model has never
     * seen: every existing character keeps its id (so the trained rows still mean the same characters) and the
     * new ones get the next ids, in increasing code-point order.
     *
     * @throws IllegalArgumentException if one of them is already in the vocabulary
     */
    public Vocabulary extendedWith(int[] newCodePoints) {
        int[] add = newCodePoints.clone();
        Arrays.sort(add);
        int[] all = Arrays.copyOf(codePoints, codePoints.length + add.length);
        System.arraycopy(add, 0, all, codePoints.length, add.length);
        return fromCodePoints(all, appended + add.length);
    }

    /** How many characters were appended by {@link #extendedWith} (0 for a text's own vocabulary). */
    public int appended() {
        return appended;
    }

    /** The characters of text that this vocabulary lacks, in increasing code-point order. */
    public int[] missingFrom(String text) {
        BitSet seen = new BitSet();
        text.codePoints().forEach(cp -> {
            if (!contains(cp)) seen.set(cp);
        });
        return seen.stream().toArray();
    }

    /** Characters listed for a message, e.g. {@code 'é' (U+00E9), 'ß' (U+00DF)}, cut off after 30. */
    public static String describeChars(int[] codePoints) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(30, codePoints.length); i++) sb.append(i == 0 ? "" : ", ").append(describeChar(codePoints[i]));
        if (codePoints.length > 30) sb.append(" and ").append(codePoints.length - 30).append(" more");
        return sb.toString();
    }

    /** Number of tokens (the model's vocab_size). */
    public int size() {
        return codePoints.length;
    }

    /** The code points in id order (a copy; suitable for saving in a checkpoint). */
    public int[] codePoints() {
        return codePoints.clone();
    }

    /** The id of one code point, or -1 if it is not in the vocabulary. */
    public int encodeChar(int codePoint) {
        if (codePoint >= 0 && codePoint < 128) {
            return asciiIds[codePoint];
        }
        int at = Arrays.binarySearch(sorted, codePoint);
        return at >= 0 ? sortedIds[at] : -1;
    }

    public boolean contains(int codePoint) {
        return encodeChar(codePoint) >= 0;
    }

    /**
     * Token ids of a string, one per code point.
     *
     * @throws IllegalArgumentException if a character is not in the vocabulary; the message names the
     *     first such character and its index (counted in characters, i.e. code points, from 0)
     */
    public int[] encode(String s) {
        Objects.requireNonNull(s, "s");
        int[] ids = new int[s.codePointCount(0, s.length())];
        int index = 0;
        for (int offset = 0; offset < s.length(); ) {
            int cp = s.codePointAt(offset);
            int id = encodeChar(cp);
            if (id < 0) {
                throw new IllegalArgumentException("character " + describeChar(cp) + " at index " + index
                        + " is not in the vocabulary (" + size() + " characters)");
            }
            ids[index++] = id;
            offset += Character.charCount(cp);
        }
        return ids;
    }

    /**
     * Token ids of the known characters of a string, and the unknown characters that were skipped.
     * For prompts: the caller can warn about {@link Encoded#dropped()} and go on, or refuse to go on.
     */
    public Encoded encodeLenient(String s) {
        Objects.requireNonNull(s, "s");
        int[] ids = new int[s.codePointCount(0, s.length())];
        int kept = 0;
        List<Unknown> dropped = new ArrayList<>();
        int index = 0;
        for (int offset = 0; offset < s.length(); index++) {
            int cp = s.codePointAt(offset);
            int id = encodeChar(cp);
            if (id >= 0) {
                ids[kept++] = id;
            } else {
                dropped.add(new Unknown(cp, index));
            }
            offset += Character.charCount(cp);
        }
        return new Encoded(Arrays.copyOf(ids, kept), dropped);
    }

    /**
     * The text of a sequence of token ids.
     *
     * @throws IllegalArgumentException if an id is outside [0, size())
     */
    public String decode(int[] ids) {
        Objects.requireNonNull(ids, "ids");
        StringBuilder sb = new StringBuilder(ids.length);
        for (int i = 0; i < ids.length; i++) {
            sb.appendCodePoint(codePoint(ids[i], i));
        }
        return sb.toString();
    }

    /** The text of one token id (one character, which may be two Java chars). */
    public String decode(int id) {
        return new String(Character.toChars(codePoint(id, 0)));
    }

    private int codePoint(int id, int position) {
        if (id < 0 || id >= codePoints.length) {
            throw new IllegalArgumentException("token id " + id + " at position " + position
                    + " is outside the vocabulary [0, " + codePoints.length + ")");
        }
        return codePoints[id];
    }

    /**
     * A short printable listing, such as Karpathy's {@code print(''.join(chars))}, e.g.
     * {@code 65 tokens: "\n !$&',-.3:;?ABC...xyz"}. Invisible characters are escaped, and a very large
     * vocabulary is cut off after {@value #DESCRIBE_LIMIT} entries.
     */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(size()).append(size() == 1 ? " token: \"" : " tokens: \"");
        int shown = Math.min(size(), DESCRIBE_LIMIT);
        for (int i = 0; i < shown; i++) {
            appendEscaped(sb, codePoints[i]);
        }
        sb.append('"');
        if (shown < size()) {
            sb.append(" ... and ").append(size() - shown).append(" more");
        }
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Vocabulary other && Arrays.equals(codePoints, other.codePoints);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(codePoints);
    }

    @Override
    public String toString() {
        return "Vocabulary[size=" + size() + "]";
    }

    /**
     * A character as it should appear in an error message: quoted when it is visible, with its
     * U+ code when it is not ASCII (so a look-alike such as a curly quote can be identified), and
     * as a code alone when it is invisible. Examples: {@code 'a'}, {@code '\n'},
     * {@code 'é' (U+00E9)}, {@code U+200B}.
     */
    public static String describeChar(int codePoint) {
        String code = String.format("U+%04X", codePoint);
        switch (codePoint) {
            case '\n': return "'\\n'";
            case '\r': return "'\\r'";
            case '\t': return "'\\t'";
            case '\'': return "'\\''";
            case '\\': return "'\\\\'";
            default: break;
        }
        if (codePoint >= 0x20 && codePoint < 0x7F) {
            return "'" + (char) codePoint + "'";
        }
        if (!Character.isValidCodePoint(codePoint) || isInvisible(codePoint)) {
            return code;
        }
        return "'" + new String(Character.toChars(codePoint)) + "' (" + code + ")";
    }

    /** Appends a character for a double-quoted listing, escaping what would be invisible or ambiguous. */
    private static void appendEscaped(StringBuilder sb, int cp) {
        switch (cp) {
            case '\n': sb.append("\\n"); return;
            case '\r': sb.append("\\r"); return;
            case '\t': sb.append("\\t"); return;
            case '"': sb.append("\\\""); return;
            case '\\': sb.append("\\\\"); return;
            default: break;
        }
        if (cp == ' ' || !isInvisible(cp)) {
            sb.appendCodePoint(cp);
        } else if (cp <= 0xFF) {
            sb.append(String.format("\\x%02x", cp));
        } else if (cp <= 0xFFFF) {
            sb.append(String.format("\\u%04x", cp));
        } else {
            sb.append(String.format("\\U%08x", cp));
        }
    }

    /** Controls, format characters, non-ASCII spaces, lone surrogates and the like. */
    private static boolean isInvisible(int cp) {
        switch (Character.getType(cp)) {
            case Character.CONTROL:
            case Character.FORMAT:
            case Character.SURROGATE:
            case Character.PRIVATE_USE:
            case Character.UNASSIGNED:
            case Character.SPACE_SEPARATOR:
            case Character.LINE_SEPARATOR:
            case Character.PARAGRAPH_SEPARATOR:
                return true;
            default:
                return false;
        }
    }

    /** A character that {@link #encodeLenient} left out, and its index in the input (in code points). */
    public record Unknown(int codePoint, int index) {
        @Override
        public String toString() {
            return describeChar(codePoint) + " at index " + index;
        }
    }

    /**
     * The result of {@link #encodeLenient}: the ids of the characters that are in the vocabulary, in
     * order, and the characters that were dropped.
     */
    public record Encoded(int[] ids, List<Unknown> dropped) {
        public Encoded {
            ids = ids.clone();
            dropped = List.copyOf(dropped);
        }

        /** A copy, so the record stays immutable. */
        @Override
        public int[] ids() {
            return ids.clone();
        }

        /** True if some characters were not in the vocabulary. */
        public boolean hasDropped() {
            return !dropped.isEmpty();
        }

        /**
         * One line for a warning or an error, listing each distinct dropped character once with its
         * count, e.g. {@code 3 characters not in the vocabulary: 'é' (U+00E9) x2, '€' (U+20AC) x1}.
         * Empty if nothing was dropped.
         */
        public String describeDropped() {
            if (dropped.isEmpty()) {
                return "";
            }
            Map<Integer, Integer> counts = new LinkedHashMap<>();
            for (Unknown u : dropped) {
                counts.merge(u.codePoint(), 1, Integer::sum);
            }
            StringBuilder sb = new StringBuilder();
            sb.append(dropped.size()).append(dropped.size() == 1 ? " character" : " characters")
                    .append(" not in the vocabulary: ");
            int listed = 0;
            for (Map.Entry<Integer, Integer> e : counts.entrySet()) {
                if (listed == 10) {
                    sb.append(", ... (").append(counts.size() - listed).append(" more distinct)");
                    break;
                }
                if (listed > 0) {
                    sb.append(", ");
                }
                sb.append(describeChar(e.getKey())).append(" x").append(e.getValue());
                listed++;
            }
            return sb.toString();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Encoded other && Arrays.equals(ids, other.ids) && dropped.equals(other.dropped);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(ids) + dropped.hashCode();
        }

        @Override
        public String toString() {
            return "Encoded[ids=" + Arrays.toString(ids) + ", dropped=" + dropped + "]";
        }
    }
}
