package dev.toygpt.sample;

import dev.toygpt.text.Vocabulary;

/**
 * A prompt as the model sees it: its token ids, with the characters the vocabulary does not know dropped.
 * An empty prompt (or one with nothing known) starts from the start token, as the notebooks do.
 * Shared by {@code sample}, {@code chat} and the playground, so they read a prompt the same way.
 *
 * @param ids     at least one token
 * @param text    the text the ids stand for (what the model actually continues; "" for the start token alone)
 * @param dropped what was dropped, e.g. "2 unknown characters ('é' at 3, ...)", or null when nothing was
 */
public record Prompt(int[] ids, String text, String dropped) {

    /** Encodes text leniently: unknown characters are dropped and described in {@link #dropped()}. */
    public static Prompt encode(String text, Vocabulary vocab) {
        if (text == null || text.isEmpty()) return start(vocab);
        Vocabulary.Encoded enc = vocab.encodeLenient(text);
        String dropped = enc.hasDropped() ? enc.describeDropped() : null;
        if (enc.ids().length == 0) return new Prompt(new int[]{startToken(vocab)}, "", dropped);
        return new Prompt(enc.ids(), vocab.decode(enc.ids()), dropped);
    }

    /** Only the start token. */
    public static Prompt start(Vocabulary vocab) {
        return new Prompt(new int[]{startToken(vocab)}, "", null);
    }

    /** True when characters were dropped. */
    public boolean hasDropped() {
        return dropped != null;
    }

    /** The notebooks start generation from token 0; a newline when the vocabulary has one. */
    public static int startToken(Vocabulary vocab) {
        int nl = vocab.encodeChar('\n');
        return nl >= 0 ? nl : 0;
    }

    /** The last (up to) n ids: what a model with a context of n tokens sees of them. */
    public static int[] lastTokens(int[] ids, int n) {
        return java.util.Arrays.copyOfRange(ids, Math.max(0, ids.length - n), ids.length);
    }
}
