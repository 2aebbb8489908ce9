package dev.toygpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toygpt.io.AtomicFiles;
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
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

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

    /** Reads config.json: the model's sizes and vocabulary. */
    public static Map.Entry<ModelConfig, Vocabulary> readConfig(Path dir) {
        Path file = dir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file)) throw new CheckpointException("no " + CONFIG_FILE + " in " + dir + " (not a ToyGPT checkpoint?)");
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || !n.isObject() || !n.hasNonNull("model")) {
                throw new CheckpointException(file + " is not a ToyGPT configuration (no \"model\" field); the checkpoint is damaged");
            }
            ModelKind kind = ModelKind.parse(n.path("model").asText(""));
            ModelConfig config = new ModelConfig(kind, n.path("vocab_size").asInt(), n.path("n_embd").asInt(),
                    n.path("n_head").asInt(), n.path("n_layer").asInt(), n.path("block_size").asInt(),
                    (float) n.path("dropout").asDouble(), n.path("hidden").asInt());
            JsonNode cps = n.path("vocabulary");
            int[] codePoints = new int[cps.size()];
            for (int i = 0; i < codePoints.length; i++) codePoints[i] = cps.get(i).asInt();
            Vocabulary vocabulary = Vocabulary.fromCodePoints(codePoints, n.path("vocabulary_appended").asInt(0));
            if (vocabulary.size() != config.vocabSize()) {
                throw new CheckpointException(file + ": vocab_size " + config.vocabSize() + " but the vocabulary lists " + vocabulary.size() + " characters");
            }
            config.validate();
            return Map.entry(config, vocabulary);
        } catch (IOException e) {
            throw new CheckpointException(file + " is not valid JSON: " + e.getMessage().lines().findFirst().orElse(""), e);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file + " is not a valid configuration: " + e.getMessage(), e);
        }
    }

    /** Loads model and vocabulary; any problem is reported before anything is used. */
    public static Loaded load(Path dir) {
        var cfg = readConfig(dir);
        Path weights = dir.resolve(MODEL_FILE);
        if (!Files.isRegularFile(weights)) throw new CheckpointException("no " + MODEL_FILE + " in " + dir);
        LanguageModel model = LanguageModel.create(cfg.getKey(), new Rng(0));
        try {
            ModelWeights.load(model, SafeTensors.read(weights), "");
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + weights + ": " + e.getMessage(), e);
        } catch (SafeTensors.SafeTensorsException e) {
            throw new CheckpointException(e.getMessage(), e); // the message starts with the file's path
        } catch (ModelWeights.MismatchException e) {
            throw new CheckpointException(weights + ": " + e.getMessage(), e);
        }
        return new Loaded(model, cfg.getValue(), dir);
    }

    /** Restores the optimizer's buffers and returns the saved training state. */
    public static TrainingState loadTrainingState(Path dir, Optimizer optimizer) {
        Path stateFile = dir.resolve(STATE_FILE), optFile = dir.resolve(OPTIMIZER_FILE);
        if (!Files.isRegularFile(stateFile) || !Files.isRegularFile(optFile)) {
            throw new CheckpointException(dir + " has no training state (" + STATE_FILE + ", " + OPTIMIZER_FILE + "): cannot resume from it");
        }
        try {
            JsonNode s = JSON.readTree(stateFile.toFile());
            TrainingState state = JSON.treeToValue(s.path("state"), TrainingState.class);
            SafeTensors.Contents opt = SafeTensors.read(optFile);
            String savedName = opt.metadata().getOrDefault("optimizer", "?");
            if (!savedName.equals(optimizer.name())) {
                throw new CheckpointException("the checkpoint was trained with " + savedName + ", not " + optimizer.name() + " (use --optimizer " + savedName + ")");
            }
            Map<String, float[]> buffers = new LinkedHashMap<>();
            opt.tensors().forEach((k, v) -> buffers.put(k, v.floats()));
            optimizer.loadState(buffers, Long.parseLong(opt.metadata().getOrDefault("steps", "0")));
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
            JsonNode v = JSON.readTree(file.toFile()).get(field);
            return v == null || v.isNull() ? null : v.asText();
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** The settings a run was started with, from its state.json. */
    public static TrainSettings readSettings(Path dir) {
        try {
            return JSON.treeToValue(JSON.readTree(dir.resolve(STATE_FILE).toFile()).path("settings"), TrainSettings.class);
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + dir.resolve(STATE_FILE) + ": " + e.getMessage(), e);
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
