package dev.toygpt.models;

import dev.toygpt.autograd.Tensor;
import dev.toygpt.io.ModelWeights;
import dev.toygpt.io.SafeTensors;
import dev.toygpt.optim.Adam;
import dev.toygpt.optim.Optimizer;
import dev.toygpt.optim.Sgd;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs every PyTorch fixture in a directory (the test resources, or -Dtoygpt.fixtures=DIR): the model is
 * configured from the file's tensors and metadata, loaded with PyTorch's initial weights, and must give
 * PyTorch's logits, loss, gradients and the weights after one and two optimizer steps.
 */
class PyTorchParityTest {
    private static final double FORWARD_RTOL = 1e-4, FORWARD_ATOL = 1e-5;
    private static final double GRAD_RTOL = 1e-3, GRAD_ATOL = 1e-5;

    @TestFactory
    Stream<DynamicTest> everyFixtureMatchesPyTorch() throws IOException {
        Path dir = Path.of(System.getProperty("toygpt.fixtures", "src/test/resources/fixtures"));
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
        assertFalse(files.isEmpty(), "no *.safetensors fixtures in " + dir.toAbsolutePath());
        return files.stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> check(SafeTensors.read(f))));
    }

    private static void check(SafeTensors.Contents fx) {
        Map<String, SafeTensors.Entry> params = new LinkedHashMap<>();
        fx.tensors().forEach((name, t) -> {
            if (!name.matches("(input|expected|grad|step1|step2)\\..*")) params.put(name, t);
        });
        Map<String, String> meta = fx.metadata();
        float dropout = Float.parseFloat(meta.getOrDefault("dropout", "0"));
        int[] idxShape = fx.get("input.idx").shape();
        int batch = idxShape[0], time = idxShape.length > 1 ? idxShape[1] : 1;
        ModelConfig config = ModelWeights.inferConfig(shapesOf(params), dropout, time);
        LanguageModel model = LanguageModel.create(config, new Rng(1));
        ModelWeights.load(model, new SafeTensors.Contents(params, meta), "");

        int[] idx = fx.get("input.idx").ints();
        int[] targets = fx.get("input.targets").ints();
        Tensor logits = model.forward(idx, batch, time);
        assertClose("logits", fx.get("expected.logits").floats(), logits.data(), FORWARD_RTOL, FORWARD_ATOL);
        Tensor loss = model.loss(logits, targets);
        assertClose("loss", fx.get("expected.loss").floats(), loss.data(), FORWARD_RTOL, FORWARD_ATOL);

        loss.backward();
        var state = model.stateDict();
        for (String name : params.keySet()) {
            var entry = state.get(name);
            float[] grad = java.util.Arrays.copyOfRange(entry.parameter().grad(), entry.offset(), entry.offset() + entry.size());
            assertClose("grad." + name, fx.get("grad." + name).floats(), grad, GRAD_RTOL, GRAD_ATOL);
        }

        Optimizer opt = optimizerFrom(meta.get("optimizer"), model);
        opt.step();
        assertParams(fx, model, "step1.", params.keySet());
        opt.zeroGrad();
        Tensor loss1 = model.loss(model.forward(idx, batch, time), targets);
        assertClose("loss_step1", fx.get("expected.loss_step1").floats(), loss1.data(), FORWARD_RTOL, FORWARD_ATOL);
        loss1.backward();
        opt.step();
        assertParams(fx, model, "step2.", params.keySet());
    }

    private static void assertParams(SafeTensors.Contents fx, LanguageModel model, String prefix, Iterable<String> names) {
        var state = model.stateDict();
        for (String name : names) {
            assertClose(prefix + name, fx.get(prefix + name).floats(), state.get(name).read(), GRAD_RTOL, GRAD_ATOL);
        }
    }

    private static final Pattern NUMBER = Pattern.compile("([a-z_]+)=\\(?([-0-9.e]+)");

    /** Parses e.g. "AdamW lr=1e-3 betas=(0.9,0.999) eps=1e-8 weight_decay=0.01" or "SGD lr=0.01". */
    static Optimizer optimizerFrom(String spec, LanguageModel model) {
        Map<String, String> kv = new LinkedHashMap<>();
        Matcher m = NUMBER.matcher(spec);
        while (m.find()) kv.put(m.group(1), m.group(2));
        Matcher betas = Pattern.compile("betas=\\(([-0-9.e]+),\\s*([-0-9.e]+)\\)").matcher(spec);
        float lr = Float.parseFloat(kv.get("lr"));
        String name = spec.trim().split("\\s+")[0].toLowerCase();
        switch (name) {
            case "sgd":
                return new Sgd(model.parameters(), lr, Float.parseFloat(kv.getOrDefault("momentum", "0")));
            case "adam":
            case "adamw": {
                float b1 = 0.9f, b2 = 0.999f;
                if (betas.find()) {
                    b1 = Float.parseFloat(betas.group(1));
                    b2 = Float.parseFloat(betas.group(2));
                }
                float eps = Float.parseFloat(kv.getOrDefault("eps", "1e-8"));
                float wd = Float.parseFloat(kv.getOrDefault("weight_decay", name.equals("adamw") ? "0.01" : "0"));
                return new Adam(model.parameters(), lr, b1, b2, eps, wd, name.equals("adamw"));
            }
            default:
                fail("unknown optimizer in fixture metadata: " + spec);
                return null;
        }
    }

    private static Map<String, int[]> shapesOf(Map<String, SafeTensors.Entry> params) {
        Map<String, int[]> out = new LinkedHashMap<>();
        params.forEach((k, v) -> out.put(k, v.shape()));
        return out;
    }

    static void assertClose(String what, float[] expected, float[] actual, double rtol, double atol) {
        assertEquals(expected.length, actual.length, what + ": size");
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(expected[i] - actual[i]) - (atol + rtol * Math.abs(expected[i]));
            if (err > worst || Double.isNaN(actual[i])) {
                worst = Double.isNaN(actual[i]) ? Double.POSITIVE_INFINITY : err;
                worstAt = i;
            }
        }
        if (worstAt >= 0) {
            fail(what + ": element " + worstAt + " is " + actual[worstAt] + ", PyTorch has " + expected[worstAt]
                    + " (tolerance " + rtol + " relative + " + atol + " absolute)");
        }
    }
}
