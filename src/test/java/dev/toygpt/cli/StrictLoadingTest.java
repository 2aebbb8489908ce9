package dev.toygpt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toygpt.autograd.GradMode;
import dev.toygpt.io.SafeTensors;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.testing.Requires;
import dev.toygpt.text.Batch;
import dev.toygpt.text.Batches;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.TinyRuns;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An exported GPT holds each head's causal mask (tril), so the course's PyTorch class loads it with strict=True;
 * import accepts files with or without the masks and refuses masks that are not causal.
 */
class StrictLoadingTest {
    @TempDir
    static Path tmp;
    static Path text;
    static Path run;
    static Path exported;

    @BeforeAll
    static void trainAndExport() throws IOException {
        text = TinyRuns.writeText(tmp);
        run = tmp.resolve("run");
        Cli.trainTiny(text, run, 20, "--threads", "1");
        exported = tmp.resolve("gpt.safetensors");
        Cli.ok("export", "--checkpoint", run.toString(), "--out", exported.toString());
    }

    /** The exported file with some tensors changed (null drops one). */
    private static Path variant(String name, Map<String, UnaryOperator<SafeTensors.Entry>> changes) throws IOException {
        SafeTensors.Contents file = SafeTensors.read(exported);
        Map<String, SafeTensors.Entry> out = new LinkedHashMap<>();
        file.tensors().forEach((k, v) -> {
            SafeTensors.Entry e = changes.containsKey(k) ? changes.get(k).apply(v) : v;
            if (e != null) out.put(k, e);
        });
        Path p = tmp.resolve(name + ".safetensors");
        SafeTensors.write(p, out, file.metadata());
        return p;
    }

    @Test
    void importAcceptsTheMasksOrTheirAbsence() throws IOException {
        Path withMasks = tmp.resolve("with");
        Cli.ok("import", "--weights", exported.toString(), "--data", text.toString(), "--out", withMasks.toString());
        Map<String, UnaryOperator<SafeTensors.Entry>> drop = new LinkedHashMap<>();
        drop.put("blocks.0.sa.heads.0.tril", e -> null);
        drop.put("blocks.0.sa.heads.1.tril", e -> null);
        Path without = tmp.resolve("without");
        Cli.ok("import", "--weights", variant("no-masks", drop).toString(), "--data", text.toString(), "--out", without.toString());
        var a = Checkpoint.load(withMasks).model().parameters();
        var b = Checkpoint.load(without).model().parameters();
        for (int i = 0; i < a.size(); i++) assertArrayEquals(a.get(i).data(), b.get(i).data());
    }

    @Test
    void exportNeedsExactlyOneDestination() {
        Cli.Result neither = Cli.run("export", "--checkpoint", run.toString());
        assertEquals(Main.BAD_INPUT, neither.exitCode(), neither.toString());
        assertTrue(neither.err().contains("give either --out FILE (a state_dict) or --pytorch DIR (the whole run)"), neither.err());
        Path both = tmp.resolve("both.safetensors");
        Cli.Result r = Cli.run("export", "--checkpoint", run.toString(), "--out", both.toString(), "--pytorch", tmp.resolve("both").toString());
        assertEquals(Main.BAD_INPUT, r.exitCode(), r.toString());
        assertFalse(Files.exists(both));
        assertFalse(Files.exists(tmp.resolve("both")));
    }

    @Test
    void aMaskThatIsNotCausalIsRefused() throws IOException {
        Path leaky = variant("leaky", Map.of("blocks.0.sa.heads.1.tril", e -> {
            float[] v = e.floats();
            v[3] = 1f; // row 0 may now look at position 3, a later character
            return SafeTensors.Entry.ofFloats(v, e.shape());
        }));
        Path out = tmp.resolve("leaky-import");
        Cli.Result r = Cli.run("import", "--weights", leaky.toString(), "--data", text.toString(), "--out", out.toString());
        assertEquals(Main.BAD_INPUT, r.exitCode(), r.toString());
        assertTrue(r.err().contains("blocks.0.sa.heads.1.tril is not the causal mask"), r.err());
        assertTrue(r.err().contains("entry (0, 3) is 1.0, expected 0.0"), r.err());
        assertFalse(r.err().contains("Exception"), r.err());
        assertFalse(Files.exists(out.resolve(Checkpoint.MODEL_FILE)));

        Path wrongSize = variant("wrong-size", Map.of("blocks.0.sa.heads.0.tril", e -> SafeTensors.Entry.ofFloats(new float[16], 4, 4)));
        Cli.Result s = Cli.run("import", "--weights", wrongSize.toString(), "--data", text.toString(), "--out", out.toString());
        assertEquals(Main.BAD_INPUT, s.exitCode(), s.toString());
        assertTrue(s.err().contains("blocks.0.sa.heads.0.tril has shape [4, 4], but the causal mask is [8, 8]"), s.err());

        Path extraHead = variant("extra-head", Map.of("blocks.0.sa.heads.1.tril", e -> e));
        SafeTensors.Contents c = SafeTensors.read(extraHead);
        Map<String, SafeTensors.Entry> more = new LinkedHashMap<>(c.tensors());
        more.put("blocks.0.sa.heads.7.tril", c.get("blocks.0.sa.heads.1.tril"));
        SafeTensors.write(extraHead, more, c.metadata());
        Cli.Result t = Cli.run("import", "--weights", extraHead.toString(), "--data", text.toString(), "--out", out.toString());
        assertEquals(Main.BAD_INPUT, t.exitCode(), t.toString());
        assertTrue(t.err().contains("unexpected tensor blocks.0.sa.heads.7.tril"), t.err());
        assertFalse(Files.exists(out.resolve(Checkpoint.MODEL_FILE)));
    }

    @Test
    void theCoursesPyTorchClassLoadsTheExportStrictlyWithToyGptsLoss() throws Exception {
        Requires.pytorch();
        Path folder = tmp.resolve("pytorch");
        Cli.ok("export", "--checkpoint", run.toString(), "--pytorch", folder.toString()); // brings model.py along
        Path best = new RunDirectory(run).best();
        LanguageModel model = Checkpoint.load(best).model();
        model.train(false);
        var corpus = dev.toygpt.text.Corpus.load(text);
        Batch batch = new Batches(corpus.tokens(), 8, 6).next(new Rng(123));
        float loss;
        try (var off = GradMode.off()) {
            loss = model.loss(model.forward(batch.inputs(), batch.batchSize(), batch.blockSize()), batch.targets()).item();
        }
        Path batchFile = tmp.resolve("batch.safetensors");
        Map<String, SafeTensors.Entry> b = new LinkedHashMap<>();
        b.put("idx", SafeTensors.Entry.ofLongs(java.util.Arrays.stream(batch.inputs()).asLongStream().toArray(), 6, 8));
        b.put("targets", SafeTensors.Entry.ofLongs(java.util.Arrays.stream(batch.targets()).asLongStream().toArray(), 6, 8));
        SafeTensors.write(batchFile, b, Map.of());

        Path script = tmp.resolve("strict.py");
        Files.writeString(script, String.join("\n",
                "import json, sys, torch",
                "sys.path.insert(0, sys.argv[1])",
                "import model, safetensors_io",
                "config = json.load(open(sys.argv[2]))",
                "gpt = model.GPTLanguageModel(config['vocab_size'], config['n_embd'], config['n_head'], config['n_layer'], config['block_size'], config['dropout'])",
                "result = {'buffers': [n for n, _ in gpt.named_buffers()]}",
                "try:",
                "    gpt.load_state_dict(safetensors_io.load(sys.argv[5]), strict=True)  # ToyGPT's checkpoint: parameters only",
                "    result['params_only'] = 'loaded'",
                "except RuntimeError as e:",
                "    result['params_only'] = str(e)",
                "gpt.load_state_dict(safetensors_io.load(sys.argv[3]), strict=True)",
                "gpt.eval()",
                "batch = safetensors_io.load(sys.argv[4])",
                "with torch.no_grad():",
                "    result['loss'] = gpt(batch['idx'], batch['targets'])[1].item()",
                "print(json.dumps(result))", ""), StandardCharsets.UTF_8);
        String out = PyTorchHandoverTest.python(folder, List.of("/usr/bin/python3", script.toString(), folder.toString(),
                best.resolve(Checkpoint.CONFIG_FILE).toString(), exported.toString(), batchFile.toString(),
                best.resolve(Checkpoint.MODEL_FILE).toString()));
        JsonNode result = new ObjectMapper().readTree(out.lines().reduce((x, y) -> y).orElseThrow());
        assertEquals("[\"blocks.0.sa.heads.0.tril\",\"blocks.0.sa.heads.1.tril\"]", result.path("buffers").toString());
        assertTrue(result.path("params_only").asText().contains("Missing key(s)"), "without the masks strict loading fails: " + result);
        assertEquals(loss, result.path("loss").asDouble(), 1e-4 * Math.abs(loss) + 1e-5, "PyTorch's loss on the same batch");
    }
}
