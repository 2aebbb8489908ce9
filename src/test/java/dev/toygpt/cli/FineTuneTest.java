package dev.toygpt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toygpt.io.SafeTensors;
import dev.toygpt.text.Vocabulary;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.MetricsLog;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.TinyRuns;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** train --init-from: fine-tuning a trained model on another text, with and without --extend-vocab. */
class FineTuneTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Three characters the verse never uses, in code-point order: 'Z' (U+005A), 'é' (U+00E9), '€' (U+20AC). */
    private static final String NEW_CHARS = "Z\u00e9\u20ac";

    @TempDir
    static Path tmp;
    static Path run;
    static Path source;
    static Vocabulary vocabulary;

    @BeforeAll
    static void train() throws IOException {
        Path text = TinyRuns.writeText(tmp);
        run = tmp.resolve("run");
        Cli.trainTiny(text, run, 60, "--threads", "1");
        source = new RunDirectory(run).best();
        vocabulary = Checkpoint.load(source).vocabulary();
    }

    private static Path write(String name, String text) throws IOException {
        Path f = tmp.resolve(name);
        Files.writeString(f, text, StandardCharsets.UTF_8);
        return f;
    }

    /** The verse with a line that uses the three new characters. */
    private static Path textWithNewCharacters() throws IOException {
        return write("new.txt", TinyRuns.text().substring(0, 3000) + "Zephyr says \u00e9t\u00e9, the king sells for 5\u20ac!\n");
    }

    @Test
    void charactersTheModelLacksAreListedAndNothingIsWritten() throws IOException {
        Path out = tmp.resolve("refused");
        Cli.Result r = Cli.run("train", "--init-from", run.toString(), "--data", textWithNewCharacters().toString(), "--out", out.toString(),
                "--max-iters", "5");
        assertEquals(Main.BAD_INPUT, r.exitCode(), r.toString());
        String err = r.err();
        assertTrue(err.startsWith("error: "), err);
        assertTrue(err.contains("has 4 characters that the model in " + source + " has never seen"), err);
        for (String c : List.of("'5'", "'Z'", "'\u00e9' (U+00E9)", "'\u20ac' (U+20AC)")) assertTrue(err.contains(c), c + " in " + err);
        assertTrue(err.contains("--extend-vocab"), err);
        assertFalse(err.contains("Exception"), err);
        assertFalse(Files.exists(out));
    }

    @Test
    void extendVocabAddsRowsAndKeepsTheTrainedOnes() throws IOException {
        Path out = tmp.resolve("extended");
        // a learning rate so small that the one step leaves the copied weights as they were (to 1e-6)
        Cli.Result r = Cli.ok("train", "--init-from", run.toString(), "--extend-vocab", "--data", textWithNewCharacters().toString(),
                "--out", out.toString(), "--max-iters", "1", "--lr", "1e-9", "--eval-iters", "20", "--threads", "1", "--sample-tokens", "0");
        int v = vocabulary.size();
        assertTrue(r.err().contains("extended the vocabulary by 4 characters"), r.err());
        assertTrue(r.err().contains("ids " + v + " to " + (v + 3)), r.err());

        Path ckpt = new RunDirectory(out).last();
        JsonNode config = JSON.readTree(ckpt.resolve(Checkpoint.CONFIG_FILE).toFile());
        assertEquals(v + 4, config.path("vocab_size").asInt());
        assertEquals(4, config.path("vocabulary_appended").asInt());
        int[] ids = new int[v + 4];
        for (int i = 0; i < ids.length; i++) ids[i] = config.path("vocabulary").get(i).asInt();
        assertArrayEquals(vocabulary.codePoints(), Arrays.copyOf(ids, v), "every old character keeps its id");
        assertArrayEquals(new int[]{'5', 'Z', 0xE9, 0x20AC}, Arrays.copyOfRange(ids, v, v + 4), "new ones appended in code-point order");
        assertEquals(source.toAbsolutePath().normalize().toString(),
                JSON.readTree(ckpt.resolve(Checkpoint.STATE_FILE).toFile()).path("init_from").asText());

        SafeTensors.Contents before = SafeTensors.read(source.resolve(Checkpoint.MODEL_FILE)), after = SafeTensors.read(ckpt.resolve(Checkpoint.MODEL_FILE));
        int c = 16;
        float[] embOld = before.get("token_embedding_table.weight").floats(), embNew = after.get("token_embedding_table.weight").floats();
        float[] headOld = before.get("lm_head.weight").floats(), headNew = after.get("lm_head.weight").floats();
        assertArrayEquals(new int[]{v + 4, c}, after.get("token_embedding_table.weight").shape());
        assertArrayEquals(embOld, Arrays.copyOf(embNew, v * c), 1e-6f);
        assertArrayEquals(headOld, Arrays.copyOf(headNew, v * c), 1e-6f);
        assertArrayEquals(before.get("lm_head.bias").floats(), Arrays.copyOf(after.get("lm_head.bias").floats(), v), 1e-6f);
        assertArrayEquals(before.get("blocks.0.ln1.weight").floats(), after.get("blocks.0.ln1.weight").floats(), 1e-6f);
        // new rows start as fresh ones do: embedding rows N(0, 1), head rows U(-1/sqrt(C), 1/sqrt(C))
        float[] embAdded = Arrays.copyOfRange(embNew, v * c, (v + 4) * c), headAdded = Arrays.copyOfRange(headNew, v * c, (v + 4) * c);
        double sq = 0;
        for (float x : embAdded) sq += x * x;
        double std = Math.sqrt(sq / embAdded.length);
        assertTrue(std > 0.6 && std < 1.5, "embedding rows like N(0,1): std " + std);
        double bound = 1 / Math.sqrt(c), max = 0;
        for (float x : headAdded) max = Math.max(max, Math.abs(x));
        assertTrue(max <= bound + 1e-6 && max > bound / 4, "head rows like U(-0.25, 0.25): max |w| " + max);

        // the trained model already knows the verse: at step 0 the loss is far below a fresh model's ln(V)
        List<MetricsLog.Row> rows = MetricsLog.read(out.resolve(RunDirectory.METRICS));
        assertTrue(rows.get(0).trainLoss() < Math.log(v + 4) - 0.5, rows.toString());

        // the fine-tuning run reads back, resumes and samples the new characters' ids
        Cli.Result resumed = Cli.ok("train", "--out", out.toString(), "--resume", "--data", textWithNewCharacters().toString(), "--max-iters", "3",
                "--threads", "1", "--sample-tokens", "0");
        assertTrue(resumed.err().contains("resuming from"), resumed.err());
        assertTrue(Cli.ok("sample", "--checkpoint", out.toString(), "--prompt", "Z\u00e9", "--max-new-tokens", "5").out().startsWith("Z\u00e9"));
    }

    @Test
    void aTextWithinTheVocabularyKeepsItAndResumes() throws IOException {
        Path sub = write("sub.txt", TinyRuns.text().substring(2000, 5000));
        Path out = tmp.resolve("same-vocab");
        Cli.Result r = Cli.ok("train", "--init-from", run.toString(), "--data", sub.toString(), "--out", out.toString(),
                "--max-iters", "10", "--threads", "1", "--sample-tokens", "0");
        assertTrue(r.err().contains("fine-tuning the model of " + source), r.err());
        assertFalse(r.err().contains("extended"), r.err());
        Path ckpt = new RunDirectory(out).last();
        assertEquals(vocabulary, Checkpoint.load(ckpt).vocabulary(), "the model's vocabulary, not the text's");
        JsonNode state = JSON.readTree(ckpt.resolve(Checkpoint.STATE_FILE).toFile());
        assertTrue(SafeTensors.read(ckpt.resolve(Checkpoint.OPTIMIZER_FILE)).metadata().get("steps").equals("10"), "a fresh optimizer: 10 steps");
        assertEquals(10, state.path("state").path("step").asInt());
        List<MetricsLog.Row> rows = MetricsLog.read(out.resolve(RunDirectory.METRICS));
        assertTrue(rows.get(0).valLoss() < Math.log(vocabulary.size()) - 0.5, rows.toString());
        Cli.ok("train", "--out", out.toString(), "--resume", "--data", sub.toString(), "--max-iters", "12", "--threads", "1", "--sample-tokens", "0");
        assertEquals("step-000012", new RunDirectory(out).last().getFileName().toString());
    }

    @Test
    void fineTuningKeepsTheArchitecture() throws IOException {
        Path out = tmp.resolve("bigger");
        Cli.Result r = Cli.run("train", "--init-from", run.toString(), "--data", textWithNewCharacters().toString(), "--out", out.toString(), "--n-layer", "2");
        assertEquals(Main.BAD_INPUT, r.exitCode(), r.toString());
        assertTrue(r.err().contains("--n-layer cannot change it"), r.err());
        assertFalse(Files.exists(out));

        Cli.Result alone = Cli.run("train", "--extend-vocab", "--data", textWithNewCharacters().toString(), "--out", out.toString());
        assertEquals(Main.BAD_INPUT, alone.exitCode());
        assertTrue(alone.err().contains("--extend-vocab goes with --init-from"), alone.err());

        Cli.Result both = Cli.run("train", "--init-from", run.toString(), "--resume", "--out", run.toString());
        assertEquals(Main.BAD_INPUT, both.exitCode());
        assertTrue(both.err().contains("--init-from starts a new run"), both.err());
        assertFalse(Files.exists(out));
    }
}
