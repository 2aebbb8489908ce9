package dev.toygpt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toygpt.autograd.GradMode;
import dev.toygpt.io.SafeTensors;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelKind;
import dev.toygpt.text.Corpus;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.TinyRuns;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** export writes a PyTorch state_dict; import turns one (ours, or the notebooks') back into a checkpoint. */
class ImportExportTest {
    @TempDir
    static Path tmp;
    static Path data;
    static Path run;

    @BeforeAll
    static void train() throws IOException {
        data = TinyRuns.writeText(tmp);
        run = tmp.resolve("run");
        Cli.trainTiny(data, run, 30);
    }

    @Test
    void exportThenImportGivesTheSameModel() throws IOException {
        Path file = tmp.resolve("exported.safetensors");
        Cli.Result exported = Cli.ok("export", "--checkpoint", run.toString(), "--out", file.toString());
        assertEquals("", exported.out());
        Path best = new RunDirectory(run).best();
        assertTrue(exported.err().contains("exported " + best), exported.err());

        SafeTensors.Contents st = SafeTensors.read(file);
        // the parameters under PyTorch names, and each head's causal mask, a buffer the course's model registers
        assertEquals(List.copyOf(SafeTensors.read(best.resolve(Checkpoint.MODEL_FILE)).names()),
                st.names().stream().filter(n -> !n.endsWith(".tril")).toList(), "PyTorch names");
        assertEquals(List.of("blocks.0.sa.heads.0.tril", "blocks.0.sa.heads.1.tril"), st.names().stream().filter(n -> n.endsWith(".tril")).toList());
        float[] mask = st.get("blocks.0.sa.heads.1.tril").floats();
        assertArrayEquals(new int[]{8, 8}, st.get("blocks.0.sa.heads.1.tril").shape());
        for (int i = 0; i < 8; i++) for (int j = 0; j < 8; j++) assertEquals(j <= i ? 1f : 0f, mask[i * 8 + j], "tril at " + i + "," + j);
        assertTrue(st.names().contains("blocks.0.sa.heads.1.value.weight"));
        assertEquals("pt", st.metadata().get("format"));
        assertEquals("gpt", st.metadata().get("model"));
        assertEquals("8", st.metadata().get("block_size"));

        Path imported = tmp.resolve("imported");
        Cli.Result imp = Cli.ok("import", "--weights", file.toString(), "--data", data.toString(), "--out", imported.toString());
        assertTrue(imp.err().contains("imported gpt"), imp.err());
        assertEquals(List.of(Checkpoint.CONFIG_FILE, Checkpoint.MODEL_FILE), TinyRuns.entries(imported));
        var original = Checkpoint.load(best);
        var copy = Checkpoint.load(imported);
        assertEquals(original.vocabulary(), copy.vocabulary());
        assertEquals(8, copy.model().config().blockSize());
        assertEquals(original.model().parameterCount(), copy.model().parameterCount());
        for (int i = 0; i < original.model().parameters().size(); i++) {
            assertArrayEquals(original.model().parameters().get(i).data(), copy.model().parameters().get(i).data());
        }

        String[] sample = {"sample", "--checkpoint", "", "--prompt", "The king", "--max-new-tokens", "80", "--greedy"};
        sample[2] = run.toString();
        Cli.Result fromRun = Cli.ok(sample);
        sample[2] = imported.toString();
        Cli.Result fromImport = Cli.ok(sample);
        assertEquals(fromRun.out(), fromImport.out());
        assertTrue(fromRun.out().startsWith("The king"), fromRun.out());

        ObjectMapper json = new ObjectMapper();
        String[] eval = {"eval", "--checkpoint", "", "--data", data.toString(), "--json", "--eval-iters", "20", "--batch-size", "8"};
        eval[2] = run.toString();
        JsonNode a = json.readTree(Cli.ok(eval).out());
        eval[2] = imported.toString();
        JsonNode b = json.readTree(Cli.ok(eval).out());
        assertEquals(a.path("train_loss").asDouble(), b.path("train_loss").asDouble());
        assertEquals(a.path("val_loss").asDouble(), b.path("val_loss").asDouble());
        assertEquals(a.path("bits_per_char").asDouble(), b.path("bits_per_char").asDouble());

        // importing again into the same directory is refused, not silently overwritten
        Cli.Result twice = Cli.run("import", "--weights", file.toString(), "--data", data.toString(), "--out", imported.toString());
        assertEquals(Main.BAD_INPUT, twice.exitCode());
        assertTrue(twice.err().contains("already holds a checkpoint"), twice.err());
    }

    @Test
    void importWithTheWrongTextIsRefused() throws IOException {
        Path file = tmp.resolve("for-wrong-text.safetensors");
        Cli.ok("export", "--checkpoint", run.toString(), "--out", file.toString());
        Path small = tmp.resolve("small.txt");
        Files.writeString(small, "abababababab cdcdcdcd\n");
        Cli.Result r = Cli.run("import", "--weights", file.toString(), "--data", small.toString(), "--out", tmp.resolve("wrong").toString());
        assertEquals(Main.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("give the corpus the model was trained on with --data"), r.err());
        assertFalse(Files.exists(tmp.resolve("wrong").resolve(Checkpoint.MODEL_FILE)));
    }

    /** The notebooks' PyTorch models, saved by the fixture generator with their inputs and expected outputs. */
    @TestFactory
    Stream<DynamicTest> importsThePyTorchFixtures() throws IOException {
        Path fixtures = Path.of(System.getProperty("toygpt.fixtures", "src/test/resources/fixtures"));
        List<Path> files;
        try (Stream<Path> s = Files.list(fixtures)) {
            files = s.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
        assertFalse(files.isEmpty(), "no fixtures in " + fixtures.toAbsolutePath());
        return files.stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> importFixture(f)));
    }

    private static void importFixture(Path fixture) throws IOException {
        String property = System.getProperty("toygpt.shakespeare");
        assumeTrue(property != null && Files.isRegularFile(Path.of(property)), "Tiny Shakespeare not found (toygpt.shakespeare)");
        Path shakespeare = Path.of(property);
        assertEquals(65, Corpus.load(shakespeare).vocabulary().size());

        SafeTensors.Contents fx = SafeTensors.read(fixture);
        String name = fixture.getFileName().toString().replace(".safetensors", "");
        Path out = tmp.resolve("fixture-" + name);

        // the fixture as it is holds inputs and expected outputs too: not a state_dict
        Cli.Result whole = Cli.run("import", "--weights", fixture.toString(), "--data", shakespeare.toString(), "--out", out.toString());
        assertEquals(Main.BAD_INPUT, whole.exitCode(), whole.toString());
        assertTrue(whole.err().contains("unexpected tensor"), whole.err());

        Map<String, SafeTensors.Entry> params = new LinkedHashMap<>();
        fx.tensors().forEach((k, v) -> {
            if (!k.matches("(input|expected|grad|step1|step2)\\..*")) params.put(k, v);
        });
        Path stateDict = tmp.resolve(name + "-state_dict.safetensors");
        SafeTensors.write(stateDict, params, Map.of("format", "pt"));
        Cli.Result r = Cli.ok("import", "--weights", stateDict.toString(), "--data", shakespeare.toString(), "--out", out.toString());
        assertTrue(r.err().contains("imported "), r.err());

        Checkpoint.Loaded loaded = Checkpoint.load(out);
        LanguageModel model = loaded.model();
        assertEquals(65, loaded.vocabulary().size());
        int[] shape = fx.get("input.idx").shape();
        int batch = shape[0], time = shape.length > 1 ? shape[1] : 1;
        if (model.config().kind() == ModelKind.GPT) {
            assertEquals(Integer.parseInt(fx.metadata().get("block_size")), model.config().blockSize());
            assertEquals(Integer.parseInt(fx.metadata().get("n_layer")), model.config().nLayer());
            assertEquals(Integer.parseInt(fx.metadata().get("n_head")), model.config().nHead());
        }
        float[] logits;
        model.train(false);
        try (var noGrad = GradMode.off()) {
            logits = model.forward(fx.get("input.idx").ints(), batch, time).data();
        }
        float[] expected = fx.get("expected.logits").floats();
        assertEquals(expected.length, logits.length);
        for (int i = 0; i < expected.length; i++) {
            double tolerance = 1e-4 * Math.abs(expected[i]) + 1e-5;
            if (!(Math.abs(expected[i] - logits[i]) <= tolerance)) {
                fail(name + ": logit " + i + " is " + logits[i] + ", PyTorch has " + expected[i]);
            }
        }
    }
}
