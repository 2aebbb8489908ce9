package dev.toygpt.cli;

import dev.toygpt.train.TinyRuns;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** chat: lines from the input, replies streamed to stdout, the conversation cropped to the block size. */
class ChatCommandTest {
    private static final String CROPPED = "the conversation is longer than the model's context";

    @TempDir
    static Path tmp;
    static Path run;

    @BeforeAll
    static void train() throws IOException {
        Path data = TinyRuns.writeText(tmp);
        run = tmp.resolve("run");
        Cli.trainTiny(data, run, 40, "--lr", "1e-2");
    }

    /** A greedy chat with replies of at most 3 characters (so "the" plus its reply fits the 8-character context). */
    private static Cli.Result chat(String input) {
        Cli.Result r = Cli.runWithInput(input, "chat", "--checkpoint", run.toString(), "--greedy", "--max-new-tokens", "3");
        assertEquals(0, r.exitCode(), r.toString());
        return r;
    }

    private static int count(String s, String part) {
        int n = 0;
        for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) n++;
        return n;
    }

    @Test
    void repliesGoToStdoutAndTheContextIsCroppedOnceTheConversationOutgrowsIt() {
        Cli.Result one = chat("the\n");
        assertFalse(one.out().isEmpty(), one.toString());
        assertFalse(one.err().contains(CROPPED), "4 + 3 characters fit in 8: " + one.err());
        assertFalse(one.out().contains("> "), "prompts go to stderr: " + one.out());
        assertTrue(one.err().contains("context 8 characters"), one.err());

        Cli.Result two = chat("the\nqueen\n");
        assertTrue(two.out().startsWith(one.out()), "the first reply comes first: " + two);
        assertTrue(two.out().length() > one.out().length(), "a second reply: " + two);
        assertEquals(1, count(two.err(), CROPPED), two.err());
        int secondPrompt = two.err().indexOf("> ", two.err().indexOf("> ") + 1);
        int thirdPrompt = two.err().indexOf("> ", secondPrompt + 1);
        int warning = two.err().indexOf(CROPPED);
        assertTrue(secondPrompt < warning && warning < thirdPrompt, "said after the second line: " + two.err());
        assertTrue(two.err().contains("it now sees only the last 8 characters"), two.err());
    }

    @Test
    void repliesAreStreamedCharacterByCharacter() {
        /** Remembers how much had been written at each flush. */
        final class Recording extends ByteArrayOutputStream {
            final List<Integer> flushedAt = new ArrayList<>();

            @Override
            public void flush() {
                flushedAt.add(size());
            }
        }
        Recording out = new Recording();
        PrintStream realOut = Console.out(), realErr = Console.err();
        InputStream realIn = Console.in();
        Console.redirect(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new ByteArrayInputStream("the\n".getBytes(StandardCharsets.UTF_8)));
        try {
            assertEquals(0, Main.run("chat", "--checkpoint", run.toString(), "--greedy", "--max-new-tokens", "6"));
        } finally {
            Console.redirect(realOut, realErr, realIn);
        }
        // the reply's characters (all but perhaps the final line break, which may be the command's own)
        String printed = out.toString(StandardCharsets.UTF_8);
        int generated = printed.length() - 1;
        assertTrue(generated >= 2, "a reply has at least 2 characters: '" + printed + "'");
        // each character reached the stream, and was flushed, before the next one was generated
        List<Integer> sizes = out.flushedAt.stream().distinct().toList();
        assertTrue(sizes.size() >= generated, "flushed at " + out.flushedAt + " for reply '" + printed + "'");
        for (int i = 0; i < generated; i++) assertEquals(i + 1, sizes.get(i), "flushed at " + out.flushedAt);
    }

    @Test
    void resetForgetsTheConversationAndQuitEndsIt() {
        Cli.Result one = chat("the\n");
        Cli.Result r = chat("the\nqueen\n/reset\nthe\n/quit\nnever read\n");
        assertTrue(r.err().contains("(conversation forgotten)"), r.err());
        // after /reset the same line gets the same reply as at the start: nothing of before is remembered
        assertTrue(r.out().startsWith(one.out()) && r.out().endsWith(one.out()), r.toString());
        assertEquals(1, count(r.err(), CROPPED), "the crop warning is given once, and again only after /reset: " + r.err());
        assertEquals(5, count(r.err(), "> "), "the line after /quit is never read: " + r.err());

        Cli.Result endOfInput = chat("the\n");
        assertEquals(2, count(endOfInput.err(), "> "), "end of input ends the chat too: " + endOfInput.err());
    }

    @Test
    void afterResetALongConversationIsCroppedAgainWithAWarning() {
        Cli.Result r = chat("the queen speaks\n/reset\nmy gentle lord\n/quit\n");
        assertEquals(2, count(r.err(), CROPPED), r.err());
    }
}
