package dev.toygpt.sample;

import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.text.Vocabulary;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The prompt and chat logic that the commands and the playground share. */
class ConversationTest {
    private static final Vocabulary VOCAB = Vocabulary.fromText("\nabc ");

    @Test
    void promptsDropUnknownCharactersAndStartFromANewline() {
        Prompt p = Prompt.encode("abXc", VOCAB);
        assertEquals("abc", p.text());
        assertTrue(p.dropped().contains("'X'"), p.dropped());
        assertArrayEquals(VOCAB.encode("abc"), p.ids());
        Prompt empty = Prompt.encode("", VOCAB);
        assertArrayEquals(new int[]{VOCAB.encodeChar('\n')}, empty.ids());
        assertEquals("", empty.text());
        assertNull(empty.dropped());
        Prompt unknown = Prompt.encode("XYZ", VOCAB);
        assertArrayEquals(new int[]{VOCAB.encodeChar('\n')}, unknown.ids());
        assertTrue(unknown.hasDropped());
        assertArrayEquals(new int[]{3, 4}, Prompt.lastTokens(new int[]{1, 2, 3, 4}, 2));
    }

    @Test
    void theContextIsTheConversationCroppedToTheWindowWithOneNotice() {
        LanguageModel model = LanguageModel.create(ModelConfig.gpt(VOCAB.size(), 8, 2, 1, 6, 0f), new Rng(1));
        Conversation c = new Conversation(model, VOCAB);
        Conversation.Turn first = c.add("ab");
        assertEquals("ab\n", VOCAB.decode(first.context()));
        assertNull(first.cropNotice());
        Conversation.Turn second = c.add("cab");
        assertEquals("\ncab\n".substring(0, 5), VOCAB.decode(second.context()).substring(1));
        assertEquals(6, second.context().length);
        assertTrue(second.cropped());
        assertEquals(Conversation.cropNotice(6), second.cropNotice());
        Conversation.Turn third = c.add("a");
        assertTrue(third.cropped());
        assertNull(third.cropNotice(), "said once");
        c.reset();
        assertEquals("", c.text());
    }

    @Test
    void aReplyEndsAtABlankLineAndJoinsTheConversation() {
        // a bigram that always follows a newline with a newline: the reply ends after two of them
        LanguageModel model = LanguageModel.create(ModelConfig.bigram(VOCAB.size(), 4), new Rng(1));
        float[] table = model.stateDict().get("token_embedding_table.weight").read();
        java.util.Arrays.fill(table, -10f);
        int nl = VOCAB.encodeChar('\n');
        for (int i = 0; i < VOCAB.size(); i++) table[i * VOCAB.size() + nl] = 10f; // everything -> newline
        table[nl * VOCAB.size() + nl] = 10f;
        model.stateDict().get("token_embedding_table.weight").write(table);
        Conversation c = Conversation.resume(model, VOCAB, "abc\n");
        Conversation.Turn turn = c.add("a");
        Generator g = new Generator(model, new NextTokenSampler(new SamplingSettings(1f, 0, 1f, true)));
        StringBuilder streamed = new StringBuilder();
        String reply = c.reply(g, turn, 50, new Rng(1), (id, p) -> streamed.append(VOCAB.decode(id)));
        assertEquals("\n\n", reply);
        assertEquals(reply, streamed.toString());
        assertEquals("abc\na\n\n\n", c.text());
        // a reply without a blank line runs to its length
        LanguageModel random = LanguageModel.create(ModelConfig.bigram(VOCAB.size(), 4), new Rng(2));
        Conversation other = Conversation.resume(random, VOCAB, "");
        String r = other.reply(new Generator(random, new NextTokenSampler(SamplingSettings.defaults())), other.add("b"), 3, new Rng(9), (id, p) -> { });
        assertTrue(r.length() <= 3 && (r.length() == 3 || r.endsWith("\n\n")), r);
    }
}
