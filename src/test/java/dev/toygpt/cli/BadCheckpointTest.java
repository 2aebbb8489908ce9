package dev.toygpt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toygpt.autograd.Tensor;
import dev.toygpt.io.ModelWeights;
import dev.toygpt.io.SafeTensors;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.util.Rng;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Prompts the model cannot read (case 9) and missing, damaged or inconsistent checkpoints given to
 * sample, eval and export (case 10): exit 2, a message naming the problem, no file modified, nothing exported.
 */
class BadCheckpointTest extends CliTestBase {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    static Path data;
    static Path bigramRun;
    static Path gptCheckpoint;

    @TempDir
    Path dir;

    @BeforeAll
    static void trainOnce() throws IOException {
        data = write(shared.resolve("play.txt"), PLAY);
        bigramRun = trainTinyBigram(data, shared.resolve("bigram"));
        Path gptRun = shared.resolve("gpt");
        assertSucceeded(run(args("train", "--data", data, "--out", gptRun, "--model", "gpt", "--n-embd", "16", "--n-head", "2",
                "--n-layer", "1", "--block-size", "8", "--batch-size", "4", "--max-iters", "10", "--eval-interval", "5",
                "--eval-iters", "2", "--sample-tokens", "0")));
        gptCheckpoint = gptRun.resolve("step-000010");
        assertTrue(Files.isDirectory(gptCheckpoint));
    }

    // ---- case 9: prompts with characters the model does not know

    @Test
    void unknownPromptCharactersAreDroppedWithAWarning() throws IOException {
        Map<String, String> before = snapshot(bigramRun);
        Run r = assertSucceeded(run("sample", "--checkpoint", bigramRun.toString(), "--prompt", "Speak\u20ac, speak!",
                "--max-new-tokens", "30"));
        assertMentions(r.err(), "warning", "2 characters not in the vocabulary", "'\u20ac' (U+20AC)", "'!'", "dropping them");
        assertTrue(r.out().startsWith("Speak, speak"), () -> "the known characters of the prompt are kept\n" + r);
        assertTrue(r.out().length() > "Speak, speak".length() + 20, () -> "30 characters should be generated\n" + r);
        assertUnchanged(before, bigramRun);
    }

    @Test
    void unknownPromptCharactersFailWithStrict() throws IOException {
        Map<String, String> before = snapshot(bigramRun);
        assertBadInput(run("sample", "--checkpoint", bigramRun.toString(), "--prompt", "Speak\u20ac, speak!", "--strict"),
                "the prompt has 2 characters not in the vocabulary", "'\u20ac' (U+20AC) x1", "'!' x1", "--strict");
        assertUnchanged(before, bigramRun);
    }

    // ---- case 10: checkpoint problems, for each command that reads a checkpoint

    private Path exported() {
        return dir.resolve("exported.safetensors");
    }

    private String[] command(String name, Path checkpoint) {
        return switch (name) {
            case "sample" -> args("sample", "--checkpoint", checkpoint, "--max-new-tokens", "5");
            case "eval" -> args("eval", "--checkpoint", checkpoint, "--data", data, "--eval-iters", "2");
            case "export" -> args("export", "--checkpoint", checkpoint, "--out", exported());
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** The command refuses the checkpoint with a message containing the fragments, and changes nothing under watched. */
    private void assertRefused(String name, Path checkpoint, Path watched, String... fragments) throws IOException {
        Map<String, String> before = snapshot(watched);
        assertBadInput(run(command(name, checkpoint)), fragments);
        assertUnchanged(before, watched);
        assertFalse(Files.exists(exported()), "nothing may be exported from a bad checkpoint");
    }

    /** A private copy of the bigram's checkpoint directory, to damage. */
    private Path bigramCopy() throws IOException {
        return copyTree(bigramRun.resolve("step-000020"), dir.resolve("ckpt"));
    }

    private Path gptCopy() throws IOException {
        return copyTree(gptCheckpoint, dir.resolve("gpt-ckpt"));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"sample", "eval", "export"})
    void intactCheckpointsWork(String name) throws IOException {
        // The copies the other tests damage are good to begin with.
        for (Path ckpt : List.of(bigramCopy(), gptCopy(), bigramRun)) {
            Run r = assertSucceeded(run(command(name, ckpt)));
            if (name.equals("export")) {
                assertTrue(Files.deleteIfExists(exported()), "export should write its file");
            } else {
                assertFalse(r.out().isBlank(), () -> "no output\n" + r);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"sample", "eval", "export"})
    void missingCheckpointPath(String name) throws IOException {
        Path missing = dir.resolve("no-such-run");
        assertRefused(name, missing, dir, "no checkpoint at", missing.toString(), "does not exist");
        assertFalse(Files.exists(missing));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"sample", "eval", "export"})
    void directoryThatIsNotACheckpoint(String name) throws IOException {
        Path notes = write(dir.resolve("notes").resolve("readme.txt"), "not a model").getParent();
        assertRefused(name, notes, notes, "no checkpoint at", notes.toString(), "checkpoints.json",
                "model.safetensors and config.json");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"sample", "eval", "export"})
    void truncatedWeights(String name) throws IOException {
        Path ckpt = bigramCopy();
        Path weights = ckpt.resolve(Checkpoint.MODEL_FILE);
        byte[] all = Files.readAllBytes(weights);
        Files.write(weights, Arrays.copyOf(all, all.length / 2));
        assertRefused(name, ckpt, ckpt, weights.toString(), "token_embedding_table.weight", "outside", "truncated file?");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"sample", "eval", "export"})
    void garbageWeights(String name) throws IOException {
        Path ckpt = bigramCopy();
        Path weights = write(ckpt.resolve(Checkpoint.MODEL_FILE), "This is not a tensor file, just some words.\n".repeat(40));
        assertRefused(name, ckpt, ckpt, weights.toString(), "header length", "not a safetensors file");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"sample", "eval", "export"})
    void weightsWithABadHeader(String name) throws IOException {
        Path ckpt = bigramCopy();
        byte[] header = "{\"token_embedding_table.weight\": {\"dtype\": \"F32\", ".getBytes(StandardCharsets.UTF_8);
        ByteBuffer file = ByteBuffer.allocate(8 + header.length + 64).order(ByteOrder.LITTLE_ENDIAN);
        file.putLong(header.length).put(header);
        Path weights = Files.write(ckpt.resolve(Checkpoint.MODEL_FILE), file.array());
        assertRefused(name, ckpt, ckpt, weights.toString(), "header is not valid JSON");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"sample", "eval", "export"})
    void weightsMissing(String name) throws IOException {
        Path ckpt = bigramCopy();
        Files.delete(ckpt.resolve(Checkpoint.MODEL_FILE));
        assertRefused(name, ckpt, ckpt, "no model.safetensors in", ckpt.toString());
    }

    private static ObjectNode readConfig(Path ckpt) throws IOException {
        return (ObjectNode) JSON.readTree(ckpt.resolve(Checkpoint.CONFIG_FILE).toFile());
    }

    private static void writeConfig(Path ckpt, ObjectNode config) throws IOException {
        JSON.writerWithDefaultPrettyPrinter().writeValue(ckpt.resolve(Checkpoint.CONFIG_FILE).toFile(), config);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"sample", "eval", "export"})
    void configWithAnotherEmbeddingWidth(String name) throws IOException {
        Path ckpt = gptCopy();
        ObjectNode config = readConfig(ckpt);
        assertEquals(16, config.get("n_embd").asInt());
        config.put("n_embd", 32);
        config.put("hidden", 128);
        writeConfig(ckpt, config);
        assertRefused(name, ckpt, ckpt, ckpt.resolve(Checkpoint.MODEL_FILE).toString(), "the weights do not match the model",
                "token_embedding_table.weight has shape [44, 16], the model needs [44, 32]");
    }

    /** config.json with one character fewer in its vocabulary (and a consistent vocab_size). */
    private static Path dropLastCharacter(Path ckpt) throws IOException {
        ObjectNode config = readConfig(ckpt);
        ArrayNode vocabulary = (ArrayNode) config.get("vocabulary");
        vocabulary.remove(vocabulary.size() - 1);
        config.put("vocab_size", vocabulary.size());
        config.remove("vocabulary_text");
        writeConfig(ckpt, config);
        return ckpt;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"sample", "eval", "export"})
    void configWithAnotherVocabulary(String name) throws IOException {
        Path bigram = dropLastCharacter(bigramCopy());
        assertRefused(name, bigram, bigram, "the weights do not match the model",
                "token_embedding_table.weight has shape [44, 44], the model needs [43, 43]");
        Path gpt = dropLastCharacter(gptCopy());
        assertRefused(name, gpt, gpt, "the weights do not match the model", "token_embedding_table.weight has shape [44, 16]",
                "lm_head.weight");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"sample", "eval", "export"})
    void configWhoseVocabSizeDisagreesWithItsVocabulary(String name) throws IOException {
        Path ckpt = bigramCopy();
        ObjectNode config = readConfig(ckpt);
        config.put("vocab_size", 40);
        writeConfig(ckpt, config);
        assertRefused(name, ckpt, ckpt, "config.json", "vocab_size 40", "lists 44 characters");
    }

    @Test
    void aMismatchedLoadLeavesTheModelUntouched() throws IOException {
        // The GPT's weights for 44 characters, loaded into a model for 43: position embeddings, blocks and the
        // final layer norm would fit, but nothing may be copied unless everything fits.
        Path ckpt = dropLastCharacter(gptCopy());
        ModelConfig config = Checkpoint.readConfig(ckpt).getKey();
        LanguageModel model = LanguageModel.create(config, new Rng(7));
        List<float[]> before = new ArrayList<>();
        for (Tensor p : model.parameters()) before.add(p.data().clone());
        SafeTensors.Contents weights = SafeTensors.read(ckpt.resolve(Checkpoint.MODEL_FILE));
        assertThrows(ModelWeights.MismatchException.class, () -> ModelWeights.load(model, weights, ""));
        for (int i = 0; i < before.size(); i++) {
            assertArrayEquals(before.get(i), model.parameters().get(i).data(), "parameter " + i + " was changed by a failed load");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"sample", "eval", "export"})
    void corruptConfig(String name) throws IOException {
        Path ckpt = bigramCopy();
        Path config = ckpt.resolve(Checkpoint.CONFIG_FILE);
        String text = Files.readString(config);
        write(config, text.substring(0, text.length() / 2));
        assertRefused(name, ckpt, ckpt, config.toString(), "is not valid JSON");

        write(config, "");
        assertRefused(name, ckpt, ckpt, config.toString(), "not a ToyGPT configuration");

        write(config, "{\"model\": \"bigram\", \"vocab_size\": \"many\"}");
        assertRefused(name, ckpt, ckpt, config.toString(), "not a valid configuration");

        Files.delete(config);
        assertRefused(name, ckpt, ckpt, "no config.json in", ckpt.toString());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"sample", "eval", "export"})
    void runDirectoryWithBrokenPointers(String name) throws IOException {
        Path run = copyTree(bigramRun, dir.resolve("run"));
        Path pointers = run.resolve("checkpoints.json");
        write(pointers, "{\"last\": \"step-000030\", \"best\": \"step-000030\"}");
        assertRefused(name, run, run, "names step-000030, which is missing");

        write(pointers, "{\"last\": \"step-0000");
        assertRefused(name, run, run, pointers.toString(), "is corrupt");
    }
}
