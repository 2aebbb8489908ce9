package dev.toygpt.train;

import dev.toygpt.autograd.Tensor;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.testing.Fuzz;
import dev.toygpt.testing.Mutations;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import dev.toygpt.io.Storage;
import dev.toygpt.io.UnsyncedStorage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The files a run directory holds, read as a resume reads them, against damaged and generated content:
 * config.json, state.json, model.safetensors and optimizer.safetensors (through Checkpoint.load and
 * Trainer.resumeFrom), checkpoints.json and metrics.csv. Only CheckpointException comes out, never a hang or
 * memory out of proportion; loading is all-or-nothing (a failed resume leaves the model and optimizer
 * exactly as they were); what metrics.csv keeps is whole rows in step order. Tries per property:
 * jqwik.tries.default (see pom.xml).
 */
class CheckpointFilesFuzzTest {
    private static final Path REAL; // a run directory with checkpoints at steps 10 and 20
    private static final Path WORK; // a checkpoint directory whose files the properties replace
    private static final Path RUN;  // a run directory for the checkpoints.json and metrics.csv properties
    private static final Map<String, byte[]> FILES = new HashMap<>();
    private static final LanguageModel MODEL;
    private static final Trainer TRAINER; // resumes from WORK, again and again

    static {
        try {
            REAL = Files.createTempDirectory("toygpt-fuzz-run");
            TrainSettings settings = TinyRuns.settings(20, 10, 5);
            var vocab = TinyRuns.corpus().vocabulary();
            RunDirectory real = new RunDirectory(REAL);
            TinyRuns.trainer(TinyRuns.model(TinyRuns.gpt(vocab.size(), 0.1f), settings), settings, real, null).run();
            for (String f : List.of(Checkpoint.CONFIG_FILE, Checkpoint.STATE_FILE, Checkpoint.MODEL_FILE, Checkpoint.OPTIMIZER_FILE)) {
                FILES.put(f, Files.readAllBytes(real.last().resolve(f)));
            }
            FILES.put(RunDirectory.POINTERS, Files.readAllBytes(REAL.resolve(RunDirectory.POINTERS)));
            FILES.put(RunDirectory.METRICS, Files.readAllBytes(REAL.resolve(RunDirectory.METRICS)));
            WORK = Fuzz.scratchDirectory("toygpt-fuzz-checkpoint");
            copyTree(real.last(), WORK);
            RUN = Fuzz.scratchDirectory("toygpt-fuzz-pointers");
            copyTree(real.last(), RUN.resolve("step-000020"));
            copyTree(real.best(), RUN.resolve("step-000010"));
            MODEL = TinyRuns.model(TinyRuns.gpt(vocab.size(), 0.1f), settings);
            Path resumes = Fuzz.scratchDirectory("toygpt-fuzz-resume");
            TRAINER = TinyRuns.trainer(MODEL, settings, new RunDirectory(resumes), null);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> Stream.of(REAL, WORK, RUN, resumes).forEach(CheckpointFilesFuzzTest::deleteQuietly)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static AutoCloseable storage;

    @BeforeContainer
    static void withoutFsync() {
        storage = Storage.use(new UnsyncedStorage());
    }

    @AfterContainer
    static void restoreStorage() throws Exception {
        storage.close();
    }

    /** Bytes a call may allocate: the model and optimizer, a multiple of the files, and a fixed margin. */
    private static final long ALLOWED = 64L * FILES.values().stream().mapToLong(b -> b.length).sum() + (16 << 20);

    // ---- config.json, state.json, model.safetensors, optimizer.safetensors: load and resume

    @Property
    void damagedConfig(@ForAll("damagedConfigs") byte[] config) throws IOException {
        loadAndResume(Map.of(Checkpoint.CONFIG_FILE, config));
    }

    @Property
    void generatedConfig(@ForAll("generatedConfigs") String config) throws IOException {
        loadAndResume(Map.of(Checkpoint.CONFIG_FILE, config.getBytes(StandardCharsets.UTF_8)));
    }

    @Property
    void damagedState(@ForAll("damagedStates") byte[] state) throws IOException {
        loadAndResume(Map.of(Checkpoint.STATE_FILE, state));
    }

    @Property
    void generatedState(@ForAll("generatedStates") String state) throws IOException {
        loadAndResume(Map.of(Checkpoint.STATE_FILE, state.getBytes(StandardCharsets.UTF_8)));
    }

    @Property
    void damagedWeightsOrOptimizer(@ForAll("damagedTensors") Tuple.Tuple2<String, byte[]> file) throws IOException {
        loadAndResume(Map.of(file.get1(), file.get2()));
    }

    /**
     * The long pass (-Pfuzz-long): each input goes to the reader of its own file, and one
     * input in FULL_EVERY also through every way of reading, so a million inputs take minutes, not hours.
     */
    private static final boolean FOCUSED = Fuzz.LONG_PASS > 0;
    private static final int FULL_EVERY = 64;
    private static final java.util.concurrent.atomic.AtomicLong INPUTS = new java.util.concurrent.atomic.AtomicLong();

    /** Reads WORK with one file replaced, as `sample` (load), and `train --resume` (settings, then resume) do. */
    private static void loadAndResume(Map<String, byte[]> replaced) throws IOException {
        for (var f : replaced.entrySet()) Files.write(WORK.resolve(f.getKey()), f.getValue());
        try {
            String what = "a checkpoint with a fuzzed " + replaced.keySet();
            if (FOCUSED && INPUTS.incrementAndGet() % FULL_EVERY != 0) readItsReader(what, replaced.keySet().iterator().next());
            else readEveryWay(what);
        } finally {
            for (String f : replaced.keySet()) Files.write(WORK.resolve(f), FILES.get(f));
        }
    }

    /** Only the reader of the fuzzed file; the model is built only when its configuration was read. */
    private static void readItsReader(String what, String file) {
        switch (file) {
            case Checkpoint.CONFIG_FILE -> {
                if (Fuzz.call(what + " (config)", ALLOWED, () -> Checkpoint.readConfig(WORK), CheckpointException.class).ok()) {
                    Fuzz.call(what + " (load)", ALLOWED, () -> Checkpoint.load(WORK), CheckpointException.class);
                }
            }
            case Checkpoint.MODEL_FILE -> Fuzz.call(what + " (load)", ALLOWED, () -> Checkpoint.load(WORK), CheckpointException.class);
            default -> { // state.json and optimizer.safetensors: what a resume reads before it touches the model
                Fuzz.call(what + " (settings)", ALLOWED, () -> Checkpoint.readSettings(WORK), CheckpointException.class);
                Map<String, float[]> optimizer = TRAINER.optimizer().state();
                long steps = TRAINER.optimizer().steps();
                var read = Fuzz.call(what + " (training state)", ALLOWED, () -> Checkpoint.loadTrainingState(WORK, TRAINER.optimizer()),
                        CheckpointException.class);
                if (!read.ok()) {
                    Map<String, float[]> after = TRAINER.optimizer().state();
                    optimizer.forEach((k, v) -> assertArrayEquals(v, after.get(k), "optimizer state " + k));
                    assertEquals(steps, TRAINER.optimizer().steps());
                }
            }
        }
    }

    private static void readEveryWay(String what) {
        Fuzz.call(what + " (load)", ALLOWED, () -> Checkpoint.load(WORK), CheckpointException.class);
        Fuzz.call(what + " (settings)", ALLOWED, () -> Checkpoint.readSettings(WORK), CheckpointException.class);

        List<float[]> weights = new ArrayList<>();
        for (Tensor p : MODEL.parameters()) weights.add(p.data().clone());
        Map<String, float[]> optimizer = TRAINER.optimizer().state();
        long optimizerSteps = TRAINER.optimizer().steps();
        var resumed = Fuzz.call(what + " (resume)", ALLOWED, () -> {
            TRAINER.resumeFrom(WORK);
            return true;
        }, CheckpointException.class);
        if (!resumed.ok()) { // all or nothing: a refused checkpoint changed neither the model nor the optimizer
            for (int i = 0; i < weights.size(); i++) assertArrayEquals(weights.get(i), MODEL.parameters().get(i).data(), "parameter " + i);
            Map<String, float[]> after = TRAINER.optimizer().state();
            assertEquals(optimizer.keySet(), after.keySet());
            optimizer.forEach((k, v) -> assertArrayEquals(v, after.get(k), "optimizer state " + k));
            assertEquals(optimizerSteps, TRAINER.optimizer().steps());
        }
    }

    @Provide
    Arbitrary<byte[]> damagedConfigs() {
        return Mutations.of(FILES.get(Checkpoint.CONFIG_FILE));
    }

    @Provide
    Arbitrary<byte[]> damagedStates() {
        return Mutations.of(FILES.get(Checkpoint.STATE_FILE));
    }

    @Provide
    Arbitrary<Tuple.Tuple2<String, byte[]>> damagedTensors() {
        return Arbitraries.of(Checkpoint.MODEL_FILE, Checkpoint.OPTIMIZER_FILE)
                .flatMap(name -> Mutations.of(FILES.get(name)).map(bytes -> Tuple.of(name, bytes)));
    }

    /** JSON values from the edges: sizes that overflow, wrong types, nulls. */
    private static Arbitrary<String> edgeValue() {
        return Arbitraries.oneOf(Arbitraries.integers().between(-2, 80).map(Object::toString),
                Arbitraries.of("16777216", "16777217", "2147483647", "2147483648", "-2147483648", "9223372036854775807",
                        "1e308", "1.5", "-0.0", "NaN", "\"16\"", "\"NaN\"", "null", "true", "[]", "{}", "[16]", "\"\"",
                        "1" + "0".repeat(90), "1" + "0".repeat(120)));
    }

    /** An object with some of the given fields (possibly repeated, possibly deeply nested junk). */
    private static Arbitrary<String> object(List<String> fields, Arbitrary<String> special) {
        Arbitrary<String> field = Arbitraries.of(fields).flatMap(f -> edgeValue().map(v -> "\"" + f + "\":" + v));
        Arbitrary<String> deep = Arbitraries.integers().between(1, 2000).map(d -> "\"deep\":" + "[".repeat(d) + "]".repeat(d));
        Arbitrary<String> any = Arbitraries.frequencyOf(Tuple.of(10, field), Tuple.of(3, special), Tuple.of(1, deep));
        return any.list().ofMaxSize(14).map(l -> "{" + String.join(",", l) + "}");
    }

    @Provide
    Arbitrary<String> generatedConfigs() {
        // mostly a plausible configuration of the real model (so loading gets past the JSON), with edits
        Arbitrary<String> model = Arbitraries.of("\"gpt\"", "\"bigram\"", "\"mlp-onehot\"", "\"mlp-embedding\"", "\"GPT\"", "\"x\"", "1", "null");
        Arbitrary<String> codePoints = Arbitraries.oneOf(
                Arbitraries.integers().between(-1, 0x110001).list().ofMaxSize(60).map(l -> l.toString().replace(" ", "")),
                Arbitraries.integers().between(9, 130).set().ofMaxSize(80).map(s -> s.stream().sorted().toList().toString().replace(" ", "")),
                Arbitraries.of("[]", "null", "\"abc\"", "[55296,56320]", "[1.5,2]", "[\"a\",\"b\"]", "{}"));
        Arbitrary<String> special = Arbitraries.oneOf(model.map(m -> "\"model\":" + m), codePoints.map(c -> "\"vocabulary\":" + c));
        return object(List.of("vocab_size", "n_embd", "n_head", "n_layer", "block_size", "dropout", "hidden", "version", "model"), special);
    }

    @Provide
    Arbitrary<String> generatedStates() {
        Arbitrary<String> state = object(List.of("step", "evaluatedStep", "trainRng", "evalRng", "dropoutRng", "bestValLoss", "bestStep",
                "elapsedSeconds"), Arbitraries.just("\"step\":20"));
        Arbitrary<String> settings = object(List.of("batchSize", "maxIters", "evalInterval", "evalIters", "learningRate", "optimizer",
                "weightDecay", "gradClip", "schedule", "warmupIters", "minLr", "seed", "trainFraction", "timeLimitSeconds"),
                Arbitraries.of("\"optimizer\":\"adamw\"", "\"schedule\":\"cosine\"", "\"optimizer\":\"sgd\""));
        return Combinators.combine(state, settings, Arbitraries.integers().between(0, 3)).as((s, t, shape) -> switch (shape) {
            case 0 -> "{\"state\":" + s + ",\"settings\":" + t + "}";
            case 1 -> "{\"state\":" + s + ",\"state\":" + s + "}";
            case 2 -> "[" + s + "]";
            default -> "{\"settings\":" + t + ",\"state\":" + s + ",\"data\":\"x\"}";
        });
    }

    // ---- the long pass (-Pfuzz-long): the same generators and checks, Fuzz.LONG_PASS inputs each

    @Test
    @EnabledIfSystemProperty(named = "fuzz.long", matches = "[1-9][0-9]*")
    void longConfig() throws Exception {
        try (var unsynced = Storage.use(new UnsyncedStorage())) {
            Fuzz.loop("CheckpointFilesFuzzTest.damagedConfig", damagedConfigs(), Fuzz.LONG_PASS, this::damagedConfig);
            Fuzz.loop("CheckpointFilesFuzzTest.generatedConfig", generatedConfigs(), Fuzz.LONG_PASS, this::generatedConfig);
        }
    }

    @Test
    @EnabledIfSystemProperty(named = "fuzz.long", matches = "[1-9][0-9]*")
    void longState() throws Exception {
        try (var unsynced = Storage.use(new UnsyncedStorage())) {
            Fuzz.loop("CheckpointFilesFuzzTest.damagedState", damagedStates(), Fuzz.LONG_PASS, this::damagedState);
            Fuzz.loop("CheckpointFilesFuzzTest.generatedState", generatedStates(), Fuzz.LONG_PASS, this::generatedState);
        }
    }

    @Test
    @EnabledIfSystemProperty(named = "fuzz.long", matches = "[1-9][0-9]*")
    void longWeightsOrOptimizer() throws Exception {
        try (var unsynced = Storage.use(new UnsyncedStorage())) {
            // one property covers both tensor files: twice the inputs, about a million per reader
            Fuzz.loop("CheckpointFilesFuzzTest.damagedWeightsOrOptimizer", damagedTensors(), 2 * Fuzz.LONG_PASS, this::damagedWeightsOrOptimizer);
        }
    }

    @Test
    @EnabledIfSystemProperty(named = "fuzz.long", matches = "[1-9][0-9]*")
    void longPointers() throws Exception {
        try (var unsynced = Storage.use(new UnsyncedStorage())) {
            Fuzz.loop("CheckpointFilesFuzzTest.damagedPointers", damagedPointerFiles(), Fuzz.LONG_PASS, this::damagedPointers);
            Fuzz.loop("CheckpointFilesFuzzTest.generatedPointers", generatedPointerFiles(), Fuzz.LONG_PASS, this::generatedPointers);
        }
    }

    @Test
    @EnabledIfSystemProperty(named = "fuzz.long", matches = "[1-9][0-9]*")
    void longMetrics() throws Exception {
        Arbitrary<Long> step = Arbitraries.longs().between(-1, 40);
        try (var unsynced = Storage.use(new UnsyncedStorage())) {
            Fuzz.loop("CheckpointFilesFuzzTest.damagedMetrics", Combinators.combine(damagedMetricsFiles(), step).as(Tuple::of),
                    Fuzz.LONG_PASS, t -> damagedMetrics(t.get1(), t.get2()));
            Fuzz.loop("CheckpointFilesFuzzTest.generatedMetrics", Combinators.combine(generatedMetricsFiles(), step).as(Tuple::of),
                    Fuzz.LONG_PASS, t -> generatedMetrics(t.get1(), t.get2()));
        }
    }

    // ---- checkpoints.json

    @Property
    void damagedPointers(@ForAll("damagedPointerFiles") byte[] pointers) throws IOException {
        pointers(pointers);
    }

    @Property
    void generatedPointers(@ForAll("generatedPointerFiles") String pointers) throws IOException {
        pointers(pointers.getBytes(StandardCharsets.UTF_8));
    }

    private static void pointers(byte[] content) throws IOException {
        Files.write(RUN.resolve(RunDirectory.POINTERS), content);
        RunDirectory run = new RunDirectory(RUN);
        for (boolean last : new boolean[]{true, false}) {
            var found = Fuzz.call("checkpoints.json of " + content.length + " bytes", ALLOWED, () -> last ? run.last() : run.best(),
                    CheckpointException.class);
            if (found.ok()) {
                assertEquals(RUN, found.value().getParent(), "a pointer names a checkpoint inside the run directory: " + found.value());
                assertTrue(Files.isDirectory(found.value()));
            }
        }
        var resolved = Fuzz.call("checkpoints.json (resolve)", ALLOWED, () -> RunDirectory.resolveCheckpoint(RUN), CheckpointException.class);
        if (resolved.ok()) assertEquals(RUN, resolved.value().getParent());
    }

    @Provide
    Arbitrary<byte[]> damagedPointerFiles() {
        return Mutations.of(FILES.get(RunDirectory.POINTERS));
    }

    @Provide
    Arbitrary<String> generatedPointerFiles() {
        Arbitrary<String> name = Arbitraries.of("\"step-000020\"", "\"step-000010\"", "\"step-000030\"", "\"../step-000020\"", "\"/\"",
                "\"..\"", "\".\"", "\"\"", "\"step-000020/../../x\"", "\"step-000020-1\"", "20", "null", "[]", "{\"a\":1}", "\"metrics.csv\"");
        Arbitrary<String> field = Combinators.combine(Arbitraries.of("last", "best", "best_val_loss", "x"), name)
                .as((k, v) -> "\"" + k + "\":" + v);
        return Arbitraries.oneOf(field.list().ofMaxSize(5).map(l -> "{" + String.join(",", l) + "}"),
                Arbitraries.of("", "[]", "null", "\"step-000020\"", "{\"last\":\"step-000020\"," + "\"x\":[".repeat(500) + "]".repeat(500) + "}"));
    }

    // ---- metrics.csv, as a resume truncates it and as plot reads it

    @Property
    void damagedMetrics(@ForAll("damagedMetricsFiles") byte[] metrics, @ForAll @LongRange(min = -1, max = 40) long step) throws IOException {
        metrics(metrics, step);
    }

    @Property
    void generatedMetrics(@ForAll("generatedMetricsFiles") String metrics, @ForAll @LongRange(min = -1, max = 40) long step) throws IOException {
        metrics(metrics.getBytes(StandardCharsets.ISO_8859_1), step);
    }

    /** Found by the long run: a file with \r\n line endings was kept as it was, not rewritten with \n. */
    @net.jqwik.api.Example
    void windowsLineEndingsAreRewritten() throws IOException {
        metrics((MetricsLog.HEADER + "\r\n0,4.1,4.2,0.001,0.5\r\n10,3.0,3.1,0.001,1.5\r\n").getBytes(StandardCharsets.ISO_8859_1), 10);
    }

    private static void metrics(byte[] content, long step) throws IOException {
        Path file = RUN.resolve(RunDirectory.METRICS);
        Files.write(file, content);
        Fuzz.call("metrics.csv of " + content.length + " bytes (read)", ALLOWED, () -> MetricsLog.read(file), CheckpointException.class);
        Fuzz.call("metrics.csv of " + content.length + " bytes (truncate)", ALLOWED, () -> {
            new MetricsLog(file).truncateAfter(step);
            return null;
        });
        byte[] kept = Files.readAllBytes(file);
        String text = new String(kept, StandardCharsets.ISO_8859_1);
        if (!text.isEmpty()) {
            List<String> lines = List.of(text.split("\n", -1));
            assertEquals(MetricsLog.HEADER, lines.get(0), text);
            assertEquals("", lines.get(lines.size() - 1), "ends with a newline");
            long previous = Long.MIN_VALUE;
            for (String line : lines.subList(1, lines.size() - 1)) {
                MetricsLog.Row row = MetricsLog.parse(line);
                assertTrue(row != null && row.step() > previous && row.step() <= step, "kept only whole rows up to step " + step + " in order:\n" + text);
                previous = row.step();
            }
            assertTrue(lines.size() > 2, "a header alone is dropped");
        }
        assertEquals(text.isEmpty() ? 0 : text.split("\n").length - 1, MetricsLog.read(file).size());
        new MetricsLog(file).truncateAfter(step);
        assertArrayEquals(kept, Files.readAllBytes(file), "truncating again changes nothing");
    }

    @Provide
    Arbitrary<byte[]> damagedMetricsFiles() {
        return Mutations.of(FILES.get(RunDirectory.METRICS));
    }

    @Provide
    Arbitrary<String> generatedMetricsFiles() {
        Arbitrary<String> number = Arbitraries.oneOf(Arbitraries.doubles().map(Object::toString),
                Arbitraries.of("NaN", "-Infinity", "1e999", "0x1p3", "1d", " 1", "", "1,2", "4.2\r", "\u00e9", "99999999999999999999"));
        Arbitrary<String> row = Combinators.combine(Arbitraries.longs().between(-2, 45).map(Object::toString), number, number, number, number)
                .as((s, a, b, c, d) -> s + "," + a + "," + b + "," + c + "," + d);
        Arbitrary<String> line = Arbitraries.frequencyOf(Tuple.of(10, row), Tuple.of(1, Arbitraries.just(MetricsLog.HEADER)),
                Tuple.of(1, Arbitraries.strings().ofMaxLength(20)), Tuple.of(1, Arbitraries.just("x".repeat(1000))),
                Tuple.of(1, Arbitraries.just("")));
        return Combinators.combine(line.list().ofMaxSize(12), Arbitraries.of("\n", "\r\n"), Arbitraries.of(true, false))
                .as((lines, eol, torn) -> {
                    String s = String.join(eol, lines);
                    return torn || s.isEmpty() ? s : s + eol;
                });
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var s = Files.list(from)) {
            for (Path p : s.toList()) Files.copy(p, to.resolve(p.getFileName()));
        }
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a temporary directory
        }
    }
}
