package dev.toygpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.toygpt.autograd.GradMode;
import dev.toygpt.io.SafeTensors;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.models.ModelKind;
import dev.toygpt.text.Vocabulary;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a training run leaves on disk: PyTorch-named weights, config.json, and the best and last checkpoints. */
class CheckpointTest {
    @TempDir
    static Path tmp;

    /** A GPT trained for 17 steps: evaluated at 0 and 10, stopped (and saved) at 17. */
    static RunDirectory run;
    static LanguageModel trained;
    static Vocabulary vocabulary;
    static TrainSettings settings;

    @BeforeAll
    static void train() throws IOException {
        vocabulary = TinyRuns.corpus().vocabulary();
        settings = TinyRuns.settings(100, 10, 99);
        trained = TinyRuns.model(TinyRuns.gpt(vocabulary.size(), 0.1f), settings);
        run = new RunDirectory(tmp.resolve("run"));
        Trainer[] trainer = new Trainer[1];
        trainer[0] = TinyRuns.trainer(trained, settings, run, TinyRuns.stopAt(17, trainer));
        assertEquals(17, trainer[0].run().steps());
    }

    @Test
    void modelFileUsesTheNotebooksPyTorchNames() throws IOException {
        SafeTensors.Contents file = SafeTensors.read(run.last().resolve(Checkpoint.MODEL_FILE));
        int v = vocabulary.size();
        Map<String, int[]> expected = new LinkedHashMap<>();
        expected.put("token_embedding_table.weight", new int[]{v, 16});
        expected.put("position_embedding_table.weight", new int[]{8, 16});
        for (int h = 0; h < 2; h++) {
            for (String w : List.of("key", "query", "value")) {
                expected.put("blocks.0.sa.heads." + h + "." + w + ".weight", new int[]{8, 16}); // (head_size, n_embd)
            }
        }
        expected.put("blocks.0.sa.proj.weight", new int[]{16, 16});
        expected.put("blocks.0.sa.proj.bias", new int[]{16});
        expected.put("blocks.0.ffwd.net.0.weight", new int[]{64, 16});
        expected.put("blocks.0.ffwd.net.0.bias", new int[]{64});
        expected.put("blocks.0.ffwd.net.2.weight", new int[]{16, 64});
        expected.put("blocks.0.ffwd.net.2.bias", new int[]{16});
        for (String ln : List.of("blocks.0.ln1", "blocks.0.ln2", "ln_f")) {
            expected.put(ln + ".weight", new int[]{16});
            expected.put(ln + ".bias", new int[]{16});
        }
        expected.put("lm_head.weight", new int[]{v, 16});
        expected.put("lm_head.bias", new int[]{v});

        assertEquals(new HashSet<>(expected.keySet()), new HashSet<>(file.names()));
        expected.forEach((name, shape) -> {
            assertArrayEquals(shape, file.get(name).shape(), name);
            assertEquals("F32", file.get(name).dtype(), name);
        });
        assertEquals("pt", file.metadata().get("format"));
        assertEquals("gpt", file.metadata().get("model"));

        // each head's key weight is its own slice of the model's weights, not a copy of one
        assertFalse(java.util.Arrays.equals(file.get("blocks.0.sa.heads.0.key.weight").floats(),
                file.get("blocks.0.sa.heads.1.key.weight").floats()));
    }

    @Test
    void configJsonHasModelSizesAndVocabulary() throws IOException {
        JsonNode c = Checkpoint.JSON.readTree(run.last().resolve(Checkpoint.CONFIG_FILE).toFile());
        assertEquals("gpt", c.path("model").asText());
        assertEquals(vocabulary.size(), c.path("vocab_size").asInt());
        assertEquals(16, c.path("n_embd").asInt());
        assertEquals(2, c.path("n_head").asInt());
        assertEquals(1, c.path("n_layer").asInt());
        assertEquals(8, c.path("block_size").asInt());
        assertEquals(0.1, c.path("dropout").asDouble(), 1e-6);
        assertEquals(64, c.path("hidden").asInt());
        int[] cps = new int[c.path("vocabulary").size()];
        for (int i = 0; i < cps.length; i++) cps[i] = c.path("vocabulary").get(i).asInt();
        assertArrayEquals(vocabulary.codePoints(), cps);
        assertEquals(vocabulary.decode(allIds(vocabulary.size())), c.path("vocabulary_text").asText());

        var read = Checkpoint.readConfig(run.last());
        assertEquals(ModelConfig.gpt(vocabulary.size(), 16, 2, 1, 8, 0.1f), read.getKey());
        assertEquals(vocabulary, read.getValue());
        assertEquals(settings, Checkpoint.readSettings(run.last()));
    }

    @Test
    void aRunSavedBeforeMicroBatchesExistedTakesItsBatchesWhole() throws IOException {
        var json = (com.fasterxml.jackson.databind.node.ObjectNode) Checkpoint.JSON.readTree(run.last().resolve(Checkpoint.STATE_FILE).toFile());
        var saved = (com.fasterxml.jackson.databind.node.ObjectNode) json.path("settings");
        Path old = java.nio.file.Files.createDirectories(tmp.resolve("older-run"));
        saved.put("microBatches", 2);
        java.nio.file.Files.writeString(old.resolve(Checkpoint.STATE_FILE), json.toString());
        assertEquals(2, Checkpoint.readSettings(old).microBatches(), "the field is read");
        saved.remove("microBatches");
        java.nio.file.Files.writeString(old.resolve(Checkpoint.STATE_FILE), json.toString());
        assertEquals(1, Checkpoint.readSettings(old).microBatches());
    }

    @Test
    void bestAndLastCheckpointsAreBothKeptAndNothingElse() throws IOException {
        JsonNode pointers = Checkpoint.JSON.readTree(run.path().resolve(RunDirectory.POINTERS).toFile());
        assertEquals(TinyRuns.stepName(17), pointers.path("last").asText());
        assertEquals(TinyRuns.stepName(10), pointers.path("best").asText(), "the stop at 17 is not an evaluation");
        List<MetricsLog.Row> rows = MetricsLog.read(run.metricsFile());
        assertEquals(List.of(0L, 10L), rows.stream().map(MetricsLog.Row::step).toList());
        assertTrue(rows.get(1).valLoss() < rows.get(0).valLoss());
        assertEquals(rows.get(1).valLoss(), pointers.path("best_val_loss").asDouble(), 1e-6);

        assertEquals(run.path().resolve(TinyRuns.stepName(17)), run.last());
        assertEquals(run.path().resolve(TinyRuns.stepName(10)), run.best());
        assertEquals(run.best(), RunDirectory.resolveCheckpoint(run.path()), "a run directory means its best checkpoint");
        assertEquals(run.last(), RunDirectory.resolveCheckpoint(run.last()));
        assertEquals(List.of(RunDirectory.POINTERS, RunDirectory.METRICS, TinyRuns.stepName(10), TinyRuns.stepName(17)),
                TinyRuns.entries(run.path()), "step-* directories nothing points to are removed, no temporary files stay");
        for (Path cp : List.of(run.best(), run.last())) {
            assertEquals(List.of(Checkpoint.CONFIG_FILE, Checkpoint.MODEL_FILE, Checkpoint.OPTIMIZER_FILE, Checkpoint.STATE_FILE),
                    TinyRuns.entries(cp));
        }
    }

    @Test
    void loadingACheckpointReproducesTheSavedModelsLogits() {
        Checkpoint.Loaded loaded = Checkpoint.load(run.last());
        assertEquals(vocabulary, loaded.vocabulary());
        assertEquals(trained.config(), loaded.model().config());
        int[] idx = vocabulary.encode("The king and queen of night, my lord!\n");
        int batch = 4, time = 8;
        int[] window = java.util.Arrays.copyOf(idx, batch * time);
        trained.train(false);
        loaded.model().train(false);
        try (var noGrad = GradMode.off()) {
            assertArrayEquals(trained.forward(window, batch, time).data(), loaded.model().forward(window, batch, time).data());
            int[] five = java.util.Arrays.copyOf(idx, 5);
            assertArrayEquals(trained.forward(five, 1, 5).data(), loaded.model().forward(five, 1, 5).data());
        }

        // the best checkpoint is another model (step 10), loaded just as well
        Checkpoint.Loaded best = Checkpoint.load(run.best());
        try (var noGrad = GradMode.off()) {
            assertNotEquals(java.util.Arrays.toString(trained.forward(window, batch, time).data()),
                    java.util.Arrays.toString(best.model().forward(window, batch, time).data()));
        }
    }

    @Test
    void importedCheckpointHasNoTrainingStateAndCannotBeResumed() throws IOException {
        Path dir = tmp.resolve("weights-only");
        LanguageModel model = LanguageModel.create(TinyRuns.gpt(vocabulary.size(), 0f), new Rng(5));
        Checkpoint.write(dir, model, vocabulary, null, null, null, "verse");
        assertEquals(List.of(Checkpoint.CONFIG_FILE, Checkpoint.MODEL_FILE), TinyRuns.entries(dir));
        assertEquals(ModelKind.GPT, Checkpoint.load(dir).model().config().kind());

        Trainer trainer = TinyRuns.trainer(LanguageModel.create(TinyRuns.gpt(vocabulary.size(), 0f), new Rng(5)),
                settings, new RunDirectory(tmp.resolve("resume-weights-only")), null);
        CheckpointException e = assertThrows(CheckpointException.class, () -> trainer.resumeFrom(dir));
        assertTrue(e.getMessage().contains("no training state"), e.getMessage());
    }

    @Test
    void theSameWeightsAreTheSameBytesWhateverTheMetadataMapsOrder() throws IOException {
        // Map.of iterates in an order that changes from one JVM start to the next, so a checkpoint written by
        // a child process (Ctrl-C) and one written here could differ in their headers only
        Map<String, SafeTensors.Entry> tensors = new LinkedHashMap<>();
        tensors.put("w", SafeTensors.Entry.ofFloats(new float[]{1f, -2f, 3.5f}, 3));
        Map<String, String> oneOrder = new LinkedHashMap<>(), otherOrder = new LinkedHashMap<>();
        oneOrder.put("format", "pt");
        oneOrder.put("model", "gpt");
        otherOrder.put("model", "gpt");
        otherOrder.put("format", "pt");
        Path a = tmp.resolve("order-a.safetensors"), b = tmp.resolve("order-b.safetensors");
        SafeTensors.write(a, tensors, oneOrder);
        SafeTensors.write(b, tensors, otherOrder);
        assertEquals(-1L, Files.mismatch(a, b));
        assertEquals(oneOrder, SafeTensors.read(b).metadata());
    }

    @Test
    void aCheckpointWithAMissingOrMismatchedFileIsRejected() throws IOException {
        Path broken = tmp.resolve("broken");
        Files.createDirectories(broken);
        Files.copy(run.last().resolve(Checkpoint.CONFIG_FILE), broken.resolve(Checkpoint.CONFIG_FILE));
        CheckpointException missing = assertThrows(CheckpointException.class, () -> Checkpoint.load(broken));
        assertTrue(missing.getMessage().contains(Checkpoint.MODEL_FILE), missing.getMessage());

        // weights of another size than config.json says
        LanguageModel other = LanguageModel.create(ModelConfig.gpt(vocabulary.size(), 8, 2, 1, 8, 0f), new Rng(1));
        dev.toygpt.io.ModelWeights.save(other, broken.resolve(Checkpoint.MODEL_FILE), Map.of());
        CheckpointException mismatch = assertThrows(CheckpointException.class, () -> Checkpoint.load(broken));
        assertTrue(mismatch.getMessage().contains("shape"), mismatch.getMessage());
    }

    private static int[] allIds(int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = i;
        return ids;
    }
}
