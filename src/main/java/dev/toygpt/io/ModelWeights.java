package dev.toygpt.io;

import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.models.ModelKind;
import dev.toygpt.nn.Module;
import dev.toygpt.nn.StateDict;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Moves model parameters between ToyGPT and safetensors files that use the notebooks' PyTorch
 * {@code state_dict} names, so a model trained here loads into the PyTorch model and back.
 */
public final class ModelWeights {
    private ModelWeights() {}

    /** A file whose tensors do not fit the model: nothing has been loaded. */
    public static final class MismatchException extends RuntimeException {
        public MismatchException(String message) {
            super(message);
        }
    }

    public static void save(Module model, Path file, Map<String, String> metadata) throws IOException {
        SafeTensors.write(file, tensors(model), metadata);
    }

    /**
     * Like {@link #save}, plus the buffers the course's PyTorch model registers besides its parameters: each
     * attention head's causal mask {@code blocks.N.sa.heads.H.tril}, a lower-triangular (block_size, block_size)
     * matrix of ones. With them the file loads with {@code model.load_state_dict(state, strict=True)}.
     */
    public static void saveForPyTorch(LanguageModel model, Path file, Map<String, String> metadata) throws IOException {
        Map<String, SafeTensors.Entry> tensors = new LinkedHashMap<>();
        ModelConfig c = model.config();
        float[] mask = c.kind() == ModelKind.GPT ? causalMask(c.blockSize()) : null;
        tensors(model).forEach((name, e) -> {
            tensors.put(name, e);
            // PyTorch's state_dict lists a head's buffer right after its parameters: key, query, value, tril
            Matcher m = HEAD_VALUE.matcher(name);
            if (mask != null && m.matches()) {
                tensors.put(m.group(1) + "tril", SafeTensors.Entry.ofFloats(mask, c.blockSize(), c.blockSize()));
            }
        });
        SafeTensors.write(file, tensors, metadata);
    }

    private static Map<String, SafeTensors.Entry> tensors(Module model) {
        Map<String, SafeTensors.Entry> tensors = new LinkedHashMap<>();
        model.stateDict().entries().forEach((name, e) -> tensors.put(name, SafeTensors.Entry.ofFloats(e.read(), e.shape())));
        return tensors;
    }

    /** torch.tril(torch.ones(n, n)), row-major. */
    static float[] causalMask(int n) {
        float[] mask = new float[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) mask[i * n + j] = 1f;
        return mask;
    }

    /**
     * Checks a tensor the model has no parameter for: null when it is not one of the model's causal-mask buffers,
     * "" when it is one and holds the causal mask, otherwise what is wrong with it.
     */
    private static String maskProblem(Module model, String name, SafeTensors.Entry t) {
        if (!(model instanceof LanguageModel lm) || lm.config().kind() != ModelKind.GPT) return null;
        Matcher m = TRIL.matcher(name);
        if (!m.matches()) return null;
        ModelConfig c = lm.config();
        if (Integer.parseInt(m.group(1)) >= c.nLayer() || Integer.parseInt(m.group(2)) >= c.nHead()) return null;
        int n = c.blockSize();
        if (!Arrays.equals(t.shape(), new int[]{n, n})) {
            return name + " has shape " + Arrays.toString(t.shape()) + ", but the causal mask is [" + n + ", " + n + "]";
        }
        if (!t.dtype().equals("F32")) return name + " is " + t.dtype() + ", expected F32";
        float[] v = t.floats(), want = causalMask(n);
        for (int i = 0; i < v.length; i++) {
            if (v[i] != want[i]) {
                return name + " is not the causal mask (ones on and below the diagonal, zeros above): entry ("
                        + i / n + ", " + i % n + ") is " + v[i] + ", expected " + want[i];
            }
        }
        return "";
    }

    /**
     * Copies every parameter from the file into the model. All names and shapes are checked first, so on
     * any mismatch the model is left exactly as it was. Tensors whose names start with {@code prefix} are used
     * (the prefix is stripped); others are ignored only when prefix is non-empty.
     */
    public static void load(Module model, SafeTensors.Contents file, String prefix) {
        check(model, file, prefix).run();
    }

    /**
     * Checks every name, shape and dtype and returns the action that copies the values into the model; the
     * action cannot fail, so a caller that loads several files can check them all before changing anything.
     */
    public static Runnable check(Module model, SafeTensors.Contents file, String prefix) {
        StateDict dict = model.stateDict();
        List<String> problems = new ArrayList<>();
        Map<String, float[]> values = new LinkedHashMap<>();
        for (var e : dict.entries().entrySet()) {
            SafeTensors.Entry t = file.tensors().get(prefix + e.getKey());
            if (t == null) {
                problems.add("missing " + prefix + e.getKey());
            } else if (!Arrays.equals(t.shape(), e.getValue().shape())) {
                problems.add(prefix + e.getKey() + " has shape " + Arrays.toString(t.shape()) + ", the model needs "
                        + Arrays.toString(e.getValue().shape()));
            } else if (!t.dtype().equals("F32")) {
                problems.add(prefix + e.getKey() + " is " + t.dtype() + ", expected F32");
            } else {
                values.put(e.getKey(), t.floats());
            }
        }
        if (prefix.isEmpty()) {
            for (String name : file.names()) {
                if (dict.get(name) != null) continue;
                // the causal masks PyTorch saves with the course's GPT carry no weights: checked, not loaded
                String mask = maskProblem(model, name, file.tensors().get(name));
                if (mask == null) problems.add("unexpected tensor " + name);
                else if (!mask.isEmpty()) problems.add(mask);
            }
        }
        if (!problems.isEmpty()) {
            throw new MismatchException("the weights do not match the model: " + String.join("; ",
                    problems.subList(0, Math.min(5, problems.size()))) + (problems.size() > 5 ? "; and " + (problems.size() - 5) + " more" : ""));
        }
        return () -> values.forEach((name, v) -> dict.get(name).write(v));
    }

    /** Which of the four models a set of PyTorch parameter names belongs to. */
    public static ModelKind inferKind(Set<String> names) {
        if (names.contains("lm_head.weight")) return ModelKind.GPT;
        if (names.contains("token_embedding.weight")) return ModelKind.MLP_EMBEDDING;
        if (names.contains("fc1.weight")) return ModelKind.MLP_ONEHOT;
        if (names.contains("token_embedding_table.weight")) return ModelKind.BIGRAM;
        throw new MismatchException("cannot tell which model these tensors belong to (no lm_head, fc1 or token_embedding_table): "
                + new TreeSet<>(names).stream().limit(8).toList());
    }

    private static final Pattern BLOCK = Pattern.compile("blocks\\.(\\d+)\\..*");
    private static final Pattern TRIL = Pattern.compile("blocks\\.(\\d+)\\.sa\\.heads\\.(\\d+)\\.tril");
    private static final Pattern HEAD_VALUE = Pattern.compile("(blocks\\.\\d+\\.sa\\.heads\\.\\d+\\.)value\\.weight");
    private static final Pattern HEAD = Pattern.compile("blocks\\.0\\.sa\\.heads\\.(\\d+)\\.key\\.weight");

    /**
     * Reads the model's sizes from the shapes of its tensors. blockSize is only stored in the GPT
     * (its position table); for the others defaultBlockSize is used.
     */
    public static ModelConfig inferConfig(Map<String, int[]> shapes, float dropout, int defaultBlockSize) {
        ModelKind kind = inferKind(shapes.keySet());
        return switch (kind) {
            case BIGRAM -> ModelConfig.bigram(shape(shapes, "token_embedding_table.weight")[0], defaultBlockSize);
            case MLP_ONEHOT -> {
                int[] fc1 = shape(shapes, "fc1.weight");
                yield ModelConfig.mlpOneHot(fc1[1], fc1[0], defaultBlockSize);
            }
            case MLP_EMBEDDING -> {
                int[] emb = shape(shapes, "token_embedding.weight");
                yield ModelConfig.mlpEmbedding(emb[0], emb[1], shape(shapes, "fc1.weight")[0], defaultBlockSize);
            }
            case GPT -> {
                int[] tok = shape(shapes, "token_embedding_table.weight");
                int[] pos = shape(shapes, "position_embedding_table.weight");
                int layers = 0, heads = 0;
                for (String name : shapes.keySet()) {
                    Matcher b = BLOCK.matcher(name);
                    if (b.matches()) layers = Math.max(layers, Integer.parseInt(b.group(1)) + 1);
                    Matcher h = HEAD.matcher(name);
                    if (h.matches()) heads = Math.max(heads, Integer.parseInt(h.group(1)) + 1);
                }
                if (layers == 0 || heads == 0) throw new MismatchException("a GPT needs blocks.0.sa.heads.0.key.weight");
                yield ModelConfig.gpt(tok[0], tok[1], heads, layers, pos[0], dropout);
            }
        };
    }

    public static Map<String, int[]> shapes(SafeTensors.Contents file) {
        Map<String, int[]> out = new LinkedHashMap<>();
        file.tensors().forEach((k, v) -> out.put(k, v.shape()));
        return out;
    }

    private static int[] shape(Map<String, int[]> shapes, String name) {
        int[] s = shapes.get(name);
        if (s == null || s.length != 2) throw new MismatchException("missing 2-D tensor " + name);
        return s;
    }
}
