package dev.toygpt.cli;

import dev.toygpt.text.Vocabulary;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.TinyRuns;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** sample: only the text on stdout, deterministic when asked to be, and any prompt length. */
class SampleCommandTest {
    private static final String NL = System.lineSeparator();
    private static final String SEPARATOR = "\n---------------" + NL;

    @TempDir
    static Path tmp;
    static Path run;
    static Vocabulary vocabulary;

    @BeforeAll
    static void train() throws IOException {
        Path data = TinyRuns.writeText(tmp);
        run = tmp.resolve("run");
        Cli.trainTiny(data, run, 40, "--lr", "1e-2");
        vocabulary = Checkpoint.load(new dev.toygpt.train.RunDirectory(run).best()).vocabulary();
    }

    private static Cli.Result sample(String... options) {
        String[] args = new String[options.length + 3];
        args[0] = "sample";
        args[1] = "--checkpoint";
        args[2] = run.toString();
        System.arraycopy(options, 0, args, 3, options.length);
        return Cli.ok(args);
    }

    /** The continuation after the prompt, without the final line break. */
    private static String continuation(Cli.Result r, String prompt) {
        assertTrue(r.out().startsWith(prompt), r.out());
        assertTrue(r.out().endsWith(NL), r.out());
        return r.out().substring(prompt.length(), r.out().length() - NL.length());
    }

    @Test
    void stdoutHoldsOnlyThePromptAndItsContinuation() {
        Cli.Result r = sample("--prompt", "The queen", "--max-new-tokens", "50", "--seed", "3");
        String generated = continuation(r, "The queen");
        assertEquals(50, Cli.length(generated), r.out());
        generated.codePoints().forEach(cp -> assertTrue(vocabulary.contains(cp), "not in the vocabulary: " + cp));
        assertEquals("", r.err(), "nothing else is printed");

        // without a prompt generation starts from a newline, which is not printed
        Cli.Result noPrompt = sample("--max-new-tokens", "30");
        assertEquals(30, Cli.length(noPrompt.out()) - NL.length(), noPrompt.out());
    }

    @Test
    void greedyIsDeterministic() {
        Cli.Result a = sample("--prompt", "My lord", "--max-new-tokens", "60", "--greedy", "--seed", "1");
        Cli.Result b = sample("--prompt", "My lord", "--max-new-tokens", "60", "--greedy", "--seed", "2");
        assertEquals(a.out(), b.out(), "greedy decoding does not use the random generator");
        assertEquals(60, Cli.length(continuation(a, "My lord")));
    }

    @Test
    void theSeedMakesSamplingRepeatable() {
        Cli.Result a = sample("--prompt", "Say", "--max-new-tokens", "80", "--seed", "11");
        Cli.Result b = sample("--prompt", "Say", "--max-new-tokens", "80", "--seed", "11");
        Cli.Result c = sample("--prompt", "Say", "--max-new-tokens", "80", "--seed", "12");
        assertEquals(a.out(), b.out());
        assertNotEquals(a.out(), c.out());
        Cli.Result cool = sample("--prompt", "Say", "--max-new-tokens", "80", "--seed", "11", "--temperature", "0.5", "--top-k", "5");
        assertEquals(cool.out(), sample("--prompt", "Say", "--max-new-tokens", "80", "--seed", "11", "--temperature", "0.5", "--top-k", "5").out());
    }

    @Test
    void numSamplesPrintsThatManySamples() {
        Cli.Result r = sample("--prompt", "Come", "--max-new-tokens", "25", "--num-samples", "3", "--seed", "5");
        String[] samples = r.out().split(java.util.regex.Pattern.quote(NL + SEPARATOR), -1);
        assertEquals(3, samples.length, r.out());
        for (int i = 0; i < 3; i++) {
            String s = i < 2 ? samples[i] + NL : samples[i];
            assertEquals(25, Cli.length(continuation(new Cli.Result(0, s, ""), "Come")), r.out());
        }
        assertFalse(samples[0].equals(samples[1]) && samples[1].equals(samples[2]), "independent samples: " + r.out());
        // the first of several samples is the single sample of the same seed
        assertEquals(sample("--prompt", "Come", "--max-new-tokens", "25", "--seed", "5").out(), samples[0] + NL);
    }

    @Test
    void aPromptLongerThanTheBlockSizeIsCroppedToTheLastBlockSizeCharacters() {
        String prompt = "Gentle lord, what say you of the night and the queen";
        assertTrue(Cli.length(prompt) > 8);
        Cli.Result longPrompt = sample("--prompt", prompt, "--max-new-tokens", "40", "--greedy");
        String tail = prompt.substring(prompt.length() - 8);
        Cli.Result shortPrompt = sample("--prompt", tail, "--max-new-tokens", "40", "--greedy");
        assertEquals(continuation(shortPrompt, tail), continuation(longPrompt, prompt),
                "the model sees only the last block_size (8) characters");
    }

    @Test
    void unknownPromptCharactersAreDroppedWithAWarningOnStderr() {
        Cli.Result r = sample("--prompt", "The kingZ", "--max-new-tokens", "10", "--greedy");
        assertTrue(r.err().contains("warning"), r.err());
        assertTrue(r.out().startsWith("The king"), r.out());
        assertFalse(r.out().contains("Z"), r.out());

        Cli.Result strict = Cli.run("sample", "--checkpoint", run.toString(), "--prompt", "Z", "--strict");
        assertEquals(Main.BAD_INPUT, strict.exitCode());
        assertEquals("", strict.out());
    }
}
