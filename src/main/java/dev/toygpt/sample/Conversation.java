package dev.toygpt.sample;

import dev.toygpt.models.LanguageModel;
import dev.toygpt.text.Vocabulary;
import dev.toygpt.util.Rng;

/**
 * The chat loop's logic, shared by {@code toygpt chat} and the playground: the whole conversation is the
 * context, cropped to the model's window (once it outgrows the window the user is told, once); a line the
 * user types is followed by a newline; a reply ends at a blank line (two newlines in a row) or after the
 * longest reply allowed.
 */
public final class Conversation {
    private final Vocabulary vocab;
    private final int window;
    private final int newline;
    private final StringBuilder text = new StringBuilder();
    private boolean cropNoticeGiven;

    public Conversation(LanguageModel model, Vocabulary vocab) {
        this.vocab = vocab;
        this.window = model.contextLength();
        this.newline = vocab.encodeChar('\n');
    }

    /**
     * A conversation that already holds text (the playground sends it with each message); characters the
     * model does not know are dropped.
     */
    public static Conversation resume(LanguageModel model, Vocabulary vocab, String soFar) {
        Conversation c = new Conversation(model, vocab);
        if (soFar != null && !soFar.isEmpty()) c.text.append(vocab.decode(vocab.encodeLenient(soFar).ids()));
        return c;
    }

    /** What the user's line added and what the model now sees. */
    public record Turn(Prompt line, int[] context, boolean cropped, String cropNotice) {}

    /**
     * Adds the user's line (and a newline) to the conversation and returns the context to continue from.
     * cropNotice is set the first time the conversation is longer than the window, null otherwise.
     */
    public Turn add(String line) {
        Prompt typed = Prompt.encode(line + "\n", vocab);
        text.append(typed.text());
        int[] all = vocab.encode(text.toString());
        boolean cropped = all.length > window;
        String notice = null;
        if (cropped && !cropNoticeGiven) {
            notice = cropNotice(window);
            cropNoticeGiven = true;
        }
        return new Turn(typed, Prompt.lastTokens(all, window), cropped, notice);
    }

    /** The message shown once the conversation is longer than the model's context. */
    public static String cropNotice(int window) {
        return "the conversation is longer than the model's context: it now sees only the last " + window + " characters";
    }

    /**
     * Generates the model's reply to the context of the last {@link #add}, handing each character to onToken
     * as it is chosen, and appends it to the conversation. Stops at a blank line or after maxNewTokens.
     * onToken may throw to stop early (a client that went away); what was generated so far stays in the
     * conversation.
     */
    public String reply(Generator generator, Turn turn, int maxNewTokens, Rng rng, Generator.TokenListener onToken) {
        StringBuilder reply = new StringBuilder();
        int[] previous = {-1};
        try {
            generator.generateWithProbabilities(turn.context(), maxNewTokens, rng, (id, p) -> {
                reply.append(vocab.decode(id));
                if (onToken != null) onToken.accept(id, p);
                if (id == newline && previous[0] == newline) throw new EndOfReply();
                previous[0] = id;
            });
        } catch (EndOfReply done) {
            // a blank line ends the speech
        } finally {
            text.append(reply);
        }
        return reply.toString();
    }

    /** Forgets the conversation. */
    public void reset() {
        text.setLength(0);
        cropNoticeGiven = false;
    }

    /** Everything said so far. */
    public String text() {
        return text.toString();
    }

    public int window() {
        return window;
    }

    /** Ends generation at the end of a speech. */
    private static final class EndOfReply extends RuntimeException {
        EndOfReply() {
            super(null, null, false, false);
        }
    }
}
