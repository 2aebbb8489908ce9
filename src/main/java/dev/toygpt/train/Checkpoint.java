package dev.toygpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toygpt.io.AtomicFiles;
import dev.toygpt.io.JsonFiles;
import dev.toygpt.io.ModelWeights;
import dev.toygpt.io.SafeTensors;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.models.ModelKind;
import dev.toygpt.optim.Optimizer;
import dev.toygpt.text.Vocabulary;
import dev.toygpt.util.Rng;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One checkpoint: a directory with
 * <ul>
 *   <li>{@code model.safetensors}: the weights under the notebooks' PyTorch names,</li>
 *   <li>{@code config.json}: the model, its sizes and its vocabulary,</li>
 *   <li>{@code optimizer.safetensors} and {@code state.json}: what a resumed run needs (training only).</li>
 * </ul>
 */
public final class Checkpoint {
    public static final String MODEL_FILE = "model.safetensors";
    public static final String CONFIG_FILE = "config.json";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String STATE_FILE = "state.json";
    /** Which program wrote a checkpoint (state.json's "engine"); PyTorch's train.py writes "pytorch VERSION". */
    public static final String ENGINE = "toygpt " + version();
    /** Bounds for reading: config.json holds at most a vocabulary of every Unicode character (a few MB). */
    static final long MAX_CONFIG_BYTES = 32L << 20, MAX_STATE_BYTES = 1L << 20;
    static final ObjectMapper JSON = JsonFiles.mapper(MAX_CONFIG_BYTES).enable(SerializationFeature.INDENT_OUTPUT);

    /** A model with its vocabulary, as loaded from a checkpoint. */
    public record Loaded(LanguageModel model, Vocabulary vocabulary, Path directory) {}

    private Checkpoint() {}

    /** Writes model, config and (when optimizer is not null) the training state into dir. */
    public static void write(Path dir, LanguageModel model, Vocabulary vocabulary, Optimizer optimizer,
                             TrainingState state, TrainSettings settings, String dataName) throws IOException {
        write(dir, model, vocabulary, optimizer, state, settings, dataName, Map.of());
    }

    /** As above; notes are extra strings for state.json, e.g. "init_from" for a run fine-tuned from another checkpoint. */
    public static void write(Path dir, LanguageModel model, Vocabulary vocabulary, Optimizer optimizer,
                             TrainingState state, TrainSettings settings, String dataName, Map<String, String> notes) throws IOException {
        Files.createDirectories(dir);
        ModelWeights.save(model, dir.resolve(MODEL_FILE), Map.of("format", "pt", "model", model.config().kind().cliName()));
        AtomicFiles.writeString(dir.resolve(CONFIG_FILE), JSON.writeValueAsString(configJson(model.config(), vocabulary)));
        if (optimizer == null) return;
        Map<String, SafeTensors.Entry> tensors = new LinkedHashMap<>();
        optimizer.state().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> tensors.put(e.getKey(), SafeTensors.Entry.ofFloats(e.getValue(), e.getValue().length)));
        SafeTensors.write(dir.resolve(OPTIMIZER_FILE), tensors, Map.of("optimizer", optimizer.name(),
                "steps", Long.toString(optimizer.steps())));
        ObjectNode s = JSON.createObjectNode();
        s.set("state", JSON.valueToTree(state));
        s.set("settings", JSON.valueToTree(settings));
        s.put("data", dataName);
        s.put("engine", ENGINE);
        notes.forEach(s::put);
        AtomicFiles.writeString(dir.resolve(STATE_FILE), JSON.writeValueAsString(s));
    }

    public static ObjectNode configJson(ModelConfig c, Vocabulary vocabulary) {
        ObjectNode n = JSON.createObjectNode();
        n.put("format", "toygpt");
        n.put("version", 1);
        n.put("model", c.kind().cliName());
        n.put("vocab_size", c.vocabSize());
        n.put("n_embd", c.nEmbd());
        n.put("n_head", c.nHead());
        n.put("n_layer", c.nLayer());
        n.put("block_size", c.blockSize());
        n.put("dropout", c.dropout());
        n.put("hidden", c.hidden());
        if (vocabulary.appended() > 0) n.put("vocabulary_appended", vocabulary.appended()); // added by --extend-vocab
        var cps = n.putArray("vocabulary");
        for (int cp : vocabulary.codePoints()) cps.add(cp);
        n.put("vocabulary_text", vocabulary.decode(allIds(vocabulary.size())));
        return n;
    }

    static JsonNode readJson(Path file) throws IOException {
        return JsonFiles.read(JSON, file, MAX_CONFIG_BYTES);
    }

    /** Reads config.json: the model's sizes and vocabulary. */
    public static Map.Entry<ModelConfig, Vocabulary> readConfig(Path dir) {
        Path file = dir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file)) throw new CheckpointException("no " + CONFIG_FILE + " in " + dir + " (not a ToyGPT checkpoint?)");
        try {
            JsonNode n = readJson(file);
            if (n == null || !n.isObject() || !n.hasNonNull("model")) {
                throw new CheckpointException(file + " is not a ToyGPT configuration (no \"model\" field); the checkpoint is damaged");
            }
            ModelKind kind = ModelKind.parse(n.path("model").asText(""));
            ModelConfig config = new ModelConfig(kind, size(n, "vocab_size"), size(n, "n_embd"),
                    size(n, "n_head"), size(n, "n_layer"), size(n, "block_size"),
                    (float) n.path("dropout").asDouble(), size(n, "hidden"));
            JsonNode cps = n.path("vocabulary");
            if (!cps.isArray()) throw new IllegalArgumentException("\"vocabulary\" is not a list of code points");
            int[] codePoints = new int[cps.size()];
            for (int i = 0; i < codePoints.length; i++) {
                JsonNode cp = cps.get(i);
                if (!cp.canConvertToInt() || !cp.isIntegralNumber()) throw new IllegalArgumentException("vocabulary entry " + i + " is not a code point");
                codePoints[i] = cp.asInt();
            }
            Vocabulary vocabulary = Vocabulary.fromCodePoints(codePoints, n.path("vocabulary_appended").asInt(0));
            if (vocabulary.size() != config.vocabSize()) {
                throw new CheckpointException(file + ": vocab_size " + config.vocabSize() + " but the vocabulary lists " + vocabulary.size() + " characters");
            }
            config.validate();
            return Map.entry(config, vocabulary);
        } catch (IOException e) {
            throw new CheckpointException(file + " is not valid JSON: " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""), e);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file + " is not a valid configuration: " + e.getMessage(), e);
        }
    }

    /** A size field: a whole number from 0 to 2^24 (absent means 0, as for the sizes a model does not use). */
    private static int size(JsonNode config, String field) {
        JsonNode v = config.get(field);
        if (v == null || v.isNull()) return 0;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0 || v.asInt() > 1 << 24) {
            throw new IllegalArgumentException("\"" + field + "\" is " + v + ", not a size");
        }
        return v.asInt();
    }

    /**
     * The number of weights a model of this configuration has, computed without building it (and without
     * overflow: a damaged config.json may claim terabytes).
     */
    static long parameterCount(ModelConfig c) {
        long v = c.vocabSize(), e = c.nEmbd(), h = c.hidden();
        return switch (c.kind()) {
            case BIGRAM -> Math.multiplyExact(v, v);
            case MLP_ONEHOT -> Math.addExact(Math.multiplyExact(v, h) + h, Math.multiplyExact(h, v) + v);
            case MLP_EMBEDDING -> Math.addExact(Math.multiplyExact(v, e),
                    Math.addExact(Math.multiplyExact(e, h) + h, Math.multiplyExact(h, v) + v));
            case GPT -> {
                long block = Math.addExact(Math.multiplyExact(4 * e, e) + e, // key, query, value, proj (+ bias)
                        Math.multiplyExact(2 * e, h) + h + e + 4 * e);        // feed-forward, two LayerNorms
                long blocks = Math.multiplyExact(block, c.nLayer());
                long embeddings = Math.multiplyExact(v + c.blockSize(), e);
                yield Math.addExact(Math.addExact(blocks, embeddings), Math.multiplyExact(e, v) + v + 2 * e);
            }
        };
    }

    /**
     * Loads model and vocabulary; any problem is reported before anything is used. The model's size is
     * checked against the weights file before the model is built, so a damaged config.json cannot make it
     * allocate far more memory than the file could fill.
     */
    public static Loaded load(Path dir) {
        var cfg = readConfig(dir);
        Path weights = dir.resolve(MODEL_FILE);
        if (!Files.isRegularFile(weights)) throw new CheckpointException("no " + MODEL_FILE + " in " + dir);
        try {
            SafeTensors.Contents contents = SafeTensors.read(weights);
            long values = 0;
            for (SafeTensors.Entry e : contents.tensors().values()) values += e.bytes().length / 4;
            long needed;
            try {
                needed = parameterCount(cfg.getKey());
            } catch (ArithmeticException e) {
                needed = Long.MAX_VALUE;
            }
            // Far more parameters than the file holds: building the model would allocate what no file backs. A
            // smaller mismatch is built and reported tensor by tensor (which names and shapes differ).
            if (needed > 4 * values + (1 << 20)) {
                throw new CheckpointException(weights + ": the weights do not match the model: the file holds " + values + " values, but "
                        + CONFIG_FILE + " describes a model of " + (needed == Long.MAX_VALUE ? "more than 2^63" : Long.toString(needed))
                        + " parameters, so the tensors' shapes cannot fit (the checkpoint is damaged)");
            }
            LanguageModel model = LanguageModel.create(cfg.getKey(), new Rng(0));
            ModelWeights.load(model, contents, "");
            return new Loaded(model, cfg.getValue(), dir);
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + weights + ": " + e.getMessage(), e);
        } catch (SafeTensors.SafeTensorsException e) {
            throw new CheckpointException(e.getMessage(), e); // the message starts with the file's path
        } catch (ModelWeights.MismatchException e) {
            throw new CheckpointException(weights + ": " + e.getMessage(), e);
        }
    }

    /**
     * Restores the optimizer's buffers and returns the saved training state. Everything is read and checked
     * first: when this throws, the optimizer is as it was.
     */
    public static TrainingState loadTrainingState(Path dir, Optimizer optimizer) {
        Path stateFile = dir.resolve(STATE_FILE), optFile = dir.resolve(OPTIMIZER_FILE);
        if (!Files.isRegularFile(stateFile) || !Files.isRegularFile(optFile)) {
            throw new CheckpointException(dir + " has no training state (" + STATE_FILE + ", " + OPTIMIZER_FILE + "): cannot resume from it");
        }
        try {
            TrainingState state = readState(stateFile);
            SafeTensors.Contents opt = SafeTensors.read(optFile);
            String savedName = opt.metadata().getOrDefault("optimizer", "?");
            if (!savedName.equals(optimizer.name())) {
                throw new CheckpointException("the checkpoint was trained with " + savedName + ", not " + optimizer.name() + " (use --optimizer " + savedName + ")");
            }
            Map<String, float[]> buffers = new LinkedHashMap<>();
            for (var e : opt.tensors().entrySet()) {
                if (!e.getValue().dtype().equals("F32")) throw new IllegalArgumentException("optimizer state '" + e.getKey() + "' is not F32");
                buffers.put(e.getKey(), e.getValue().floats());
            }
            long steps = Long.parseLong(opt.metadata().getOrDefault("steps", "0"));
            if (steps < 0) throw new IllegalArgumentException("negative optimizer step count " + steps);
            optimizer.loadState(buffers, steps);
            return state;
        } catch (IOException | SafeTensors.SafeTensorsException | IllegalArgumentException e) {
            throw new CheckpointException("cannot resume from " + dir + ": " + e.getMessage(), e);
        }
    }

    /** A string field of a checkpoint's state.json ("engine", "init_from", ...), or null when it has none. */
    public static String stateNote(Path dir, String field) {
        Path file = dir.resolve(STATE_FILE);
        if (!Files.isRegularFile(file)) return null;
        try {
            JsonNode v = JsonFiles.read(JSON, file, MAX_STATE_BYTES).get(field);
            return v == null || v.isNull() ? null : v.asText();
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static final java.util.List<String> STATE_FIELDS = java.util.List.of("step", "evaluatedStep", "trainRng", "evalRng",
            "dropoutRng", "bestValLoss", "bestStep", "elapsedSeconds");

    /** state.json's training state, every field present and consistent. */
    static TrainingState readState(Path stateFile) throws IOException {
        JsonNode s = JsonFiles.read(JSON, stateFile, MAX_STATE_BYTES);
        JsonNode node = s.path("state");
        if (!node.isObject()) throw new IllegalArgumentException(stateFile + " has no \"state\" object");
        for (String f : STATE_FIELDS) {
            JsonNode v = node.get(f);
            boolean nan = v != null && v.isTextual() && f.equals("bestValLoss") && v.asText().equals("NaN");
            if (v == null || !(v.isNumber() || nan)) throw new IllegalArgumentException(stateFile + ": state." + f + " is missing or not a number");
        }
        TrainingState t = JSON.treeToValue(node, TrainingState.class);
        if (t.step() < 0 || t.evaluatedStep() < -1 || t.evaluatedStep() > t.step() || t.bestStep() < -1 || t.bestStep() > t.step()
                || !(t.elapsedSeconds() >= 0) || Double.isInfinite(t.elapsedSeconds())) {
            throw new IllegalArgumentException(stateFile + ": the training state is inconsistent (step " + t.step() + ", evaluated step "
                    + t.evaluatedStep() + ", best step " + t.bestStep() + ")");
        }
        return t;
    }

    /** The settings a run was started with, from its state.json. */
    public static TrainSettings readSettings(Path dir) {
        Path file = dir.resolve(STATE_FILE);
        try {
            JsonNode node = JsonFiles.read(JSON, file, MAX_STATE_BYTES).path("settings");
            if (!node.isObject()) throw new CheckpointException(file + " has no \"settings\" object: the checkpoint is damaged");
            // runs saved before micro-batches existed took each batch whole
            ((com.fasterxml.jackson.databind.node.ObjectNode) node).putIfAbsent("microBatches", com.fasterxml.jackson.databind.node.IntNode.valueOf(1));
            TrainSettings s = JSON.treeToValue(node, TrainSettings.class);
            if (s.optimizer() == null || s.schedule() == null) throw new CheckpointException(file + ": the settings lack the optimizer or schedule");
            return s.validate();
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + file + ": " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""), e);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file + " holds invalid settings: " + e.getMessage(), e);
        }
    }

    /** The version Maven built (from the jar's pom.properties), or "(development build)" when run from classes. */
    private static String version() {
        try (var in = Checkpoint.class.getResourceAsStream("/META-INF/maven/dev.toygpt/toygpt/pom.properties")) {
            if (in != null) {
                var p = new java.util.Properties();
                p.load(in);
                String v = p.getProperty("version");
                if (v != null) return v;
            }
        } catch (IOException ignored) {
            // fall through: the version is only informative
        }
        return "(development build)";
    }

    private static int[] allIds(int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = i;
        return ids;
    }
}
