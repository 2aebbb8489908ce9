package dev.toygpt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toygpt.io.ModelWeights;
import dev.toygpt.text.Corpus;
import dev.toygpt.text.DefaultCorpus;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.TrainSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a checkpoint's weights as a PyTorch state_dict in safetensors (--out), or hand the whole run to PyTorch (--pytorch).",
                "--out FILE: the notebooks' parameter names plus each head's causal mask (tril), so the course's model loads it with",
                "  model.load_state_dict(state, strict=True).",
                "--pytorch DIR: a folder that needs only Python and PyTorch: model.py, train.py (continues the run, on GPUs or",
                "  several machines with torchrun, and writes checkpoints ToyGPT reads back), the last checkpoint in DIR/run/, README.md."})
final class ExportCommand implements Callable<Integer> {
    /** The files of the PyTorch hand-over, shipped in the jar under /pytorch/. */
    static final List<String> PYTORCH_FILES = List.of("model.py", "train.py", "safetensors_io.py");

    @Option(names = "--checkpoint", paramLabel = "DIR", required = true,
            description = "a checkpoint directory, or a run directory (--out: its best checkpoint; --pytorch: its last)")
    Path checkpoint;
    @Option(names = "--out", paramLabel = "FILE", description = "the .safetensors file to write")
    Path out;
    @Option(names = "--pytorch", paramLabel = "DIR", description = "the folder to create for continuing the run in PyTorch")
    Path pytorch;
    @Option(names = "--data", paramLabel = "FILE",
            description = "with --pytorch: the text the run trains on (default: the one its state.json names)")
    String data;

    @Override
    public Integer call() throws Exception {
        if ((out == null) == (pytorch == null)) throw new UserInputException("give either --out FILE (a state_dict) or --pytorch DIR (the whole run)");
        if (pytorch != null) return exportRun();
        if (data != null) throw new UserInputException("--data goes with --pytorch only");
        Path dir = RunDirectory.resolveCheckpoint(checkpoint);
        Checkpoint.Loaded loaded = Checkpoint.load(dir);
        var c = loaded.model().config();
        ModelWeights.saveForPyTorch(loaded.model(), out, Map.of("format", "pt", "model", c.kind().cliName(),
                "vocab_size", Integer.toString(c.vocabSize()), "block_size", Integer.toString(c.blockSize())));
        Console.err().println("exported " + dir + " to " + out);
        return 0;
    }

    private Integer exportRun() throws IOException {
        if (Files.exists(pytorch) && (!Files.isDirectory(pytorch) || !isEmpty(pytorch))) {
            throw new UserInputException(pytorch + " already exists and is not an empty directory; choose another --pytorch");
        }
        // A run continues from its last checkpoint (the best may be older).
        Path source = Files.isRegularFile(checkpoint.resolve(RunDirectory.POINTERS)) ? new RunDirectory(checkpoint).last()
                : RunDirectory.resolveCheckpoint(checkpoint);
        Checkpoint.Loaded loaded = Checkpoint.load(source);
        if (!Files.isRegularFile(source.resolve(Checkpoint.STATE_FILE)) || !Files.isRegularFile(source.resolve(Checkpoint.OPTIMIZER_FILE))) {
            throw new UserInputException(source + " has no training state (" + Checkpoint.STATE_FILE + ", " + Checkpoint.OPTIMIZER_FILE
                    + "), so there is no run to continue: export a checkpoint written by train");
        }
        TrainSettings settings = Checkpoint.readSettings(source);
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        JsonNode state = json.readTree(source.resolve(Checkpoint.STATE_FILE).toFile());
        String dataArg = data != null ? data : state.path("data").asText("");
        if (dataArg.isEmpty()) throw new UserInputException(source + " does not say which text it was trained on: give it with --data FILE");
        Path text = DefaultCorpus.resolve(dataArg).toAbsolutePath().normalize();
        Corpus.load(text).withVocabulary(loaded.vocabulary()); // the text must be one the model can read

        Path parent = pytorch.toAbsolutePath().normalize().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, ".tmp-export-");
        try {
            for (String name : PYTORCH_FILES) Files.writeString(tmp.resolve(name), resource(name), StandardCharsets.UTF_8);
            String step = source.getFileName().toString();
            long steps = state.path("state").path("step").asLong();
            ObjectNode d = json.createObjectNode();
            d.put("path", text.toString());
            d.put("sha256", sha256(text));
            d.put("note", "train.py checks the text's SHA-256 at start; if the file moved, give its new path with --data");
            Files.writeString(tmp.resolve("data.json"), json.writeValueAsString(d) + "\n", StandardCharsets.UTF_8);
            var c = loaded.model().config();
            Files.writeString(tmp.resolve("README.md"), resource("README.md")
                    .replace("${SOURCE}", source.toAbsolutePath().normalize().toString())
                    .replace("${STEP}", Long.toString(steps))
                    .replace("${MAX_ITERS}", settings.stepLimited() ? settings.budget() : settings.budget() + " of training time and no step limit")
                    .replace("${MODEL}", c.kind().cliName() + String.format(Locale.ROOT, " (%,d parameters)", loaded.model().parameterCount()))
                    .replace("${BATCH}", settings.batchSize() + " x " + c.blockSize())
                    .replace("${DATA}", text.toString()), StandardCharsets.UTF_8);

            Path run = tmp.resolve("run");
            copyTree(source, run.resolve(step));
            ObjectNode pointers = json.createObjectNode();
            pointers.put("last", step);
            pointers.put("best", step);
            double best = state.path("state").path("bestValLoss").asDouble(Double.NaN);
            if (!Double.isNaN(best)) pointers.put("best_val_loss", best);
            Files.writeString(run.resolve(RunDirectory.POINTERS), json.writeValueAsString(pointers), StandardCharsets.UTF_8);
            Path metrics = source.getParent().resolve(RunDirectory.METRICS);
            if (Files.isRegularFile(metrics)) Files.copy(metrics, run.resolve(RunDirectory.METRICS));
            if (Files.isDirectory(pytorch)) Files.delete(pytorch); // empty, checked above
            Files.move(tmp, pytorch, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
        var err = Console.err();
        err.printf(Locale.ROOT, "exported the run at %s (step %,d) to %s for PyTorch%n", source, state.path("state").path("step").asLong(), pytorch);
        // the budget to give: a timed run keeps its limit, counted from its start, so a new one must be longer
        String budget = settings.timeLimitSeconds() > 0 ? (settings.stepLimited() ? "--max-iters N --time-limit DURATION" : "--time-limit DURATION")
                : "--max-iters N";
        err.printf("continue it with: /usr/bin/python3 %s %s   (torchrun: see %s)%n", pytorch.resolve("train.py"), budget, pytorch.resolve("README.md"));
        return 0;
    }

    static String resource(String name) throws IOException {
        try (InputStream in = ExportCommand.class.getResourceAsStream("/pytorch/" + name)) {
            if (in == null) throw new IOException("the jar lacks /pytorch/" + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static String sha256(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path f : s.toList()) if (Files.isRegularFile(f)) Files.copy(f, to.resolve(f.getFileName()));
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(x);
        }
    }
}
