package dev.toygpt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toygpt.io.SafeTensors;
import dev.toygpt.testing.Requires;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.MetricsLog;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.TinyRuns;
import dev.toygpt.train.TrainSettings;
import dev.toygpt.train.Trainer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * export --pytorch: train.py continues a ToyGPT run in PyTorch (one process, and two under torchrun with gloo),
 * on the same batches ToyGPT would draw, and ToyGPT takes the run back.
 */
class PyTorchHandoverTest {
    /** As in PyTorchParityTest for weights after optimizer steps. */
    private static final double RTOL = 1e-3, ATOL = 1e-5;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static Path text;
    static Path run;

    /**
     * A tiny GPT trained 20 steps: batch 5 (so two processes split it unevenly, 2 and 3 rows), a cosine schedule
     * with warm-up and gradient clipping, so that the learning rate, the clipping and AdamW's moments must all
     * carry over.
     */
    @BeforeAll
    static void trainTwentySteps() throws IOException {
        Requires.pytorch();
        text = TinyRuns.writeText(tmp);
        run = tmp.resolve("run");
        Cli.trainTiny(text, run, 20, "--batch-size", "5", "--dropout", "0", "--eval-interval", "20", "--eval-iters", "50",
                "--schedule", "cosine", "--warmup-iters", "5", "--grad-clip", "1.0", "--threads", "1");
    }

    @Test
    void trainPyContinuesOnToyGptsBatchesWithToyGptsNumbers() throws Exception {
        Path folder = tmp.resolve("one");
        Cli.Result exported = Cli.ok("export", "--checkpoint", run.toString(), "--pytorch", folder.toString());
        assertTrue(exported.err().contains("exported the run at"), exported.err());
        for (String f : List.of("model.py", "train.py", "safetensors_io.py", "README.md", "data.json", "run/checkpoints.json", "run/metrics.csv")) {
            assertTrue(Files.isRegularFile(folder.resolve(f)), f);
        }
        JsonNode data = JSON.readTree(folder.resolve("data.json").toFile());
        assertEquals(text.toAbsolutePath().normalize().toString(), data.path("path").asText());
        assertEquals(ExportCommand.sha256(text), data.path("sha256").asText());

        String out = python(folder, List.of("/usr/bin/python3", folder.resolve("train.py").toString(), "--max-iters", "30"));
        assertTrue(out.contains("finished 30 steps"), out);

        Path toygpt = copyRun(run, tmp.resolve("toygpt-30"));
        Cli.ok("train", "--out", toygpt.toString(), "--resume", "--data", text.toString(), "--max-iters", "30", "--threads", "1", "--sample-tokens", "0");

        Path fromTorch = new RunDirectory(folder.resolve("run")).last(), fromToygpt = new RunDirectory(toygpt).last();
        assertEquals("step-000030", fromTorch.getFileName().toString());
        JsonNode torchState = JSON.readTree(fromTorch.resolve(Checkpoint.STATE_FILE).toFile());
        JsonNode ownState = JSON.readTree(fromToygpt.resolve(Checkpoint.STATE_FILE).toFile());
        assertTrue(torchState.path("engine").asText().startsWith("pytorch "), torchState.toString());
        assertTrue(ownState.path("engine").asText().startsWith("toygpt "), ownState.toString());
        // the same batch positions were drawn, training and evaluation: the generators end in the same state
        assertEquals(ownState.path("state").path("trainRng").asLong(), torchState.path("state").path("trainRng").asLong());
        assertEquals(ownState.path("state").path("evalRng").asLong(), torchState.path("state").path("evalRng").asLong());
        assertEquals(30, torchState.path("state").path("step").asLong());

        assertWeightsClose(fromToygpt, fromTorch);
        SafeTensors.Contents optTorch = SafeTensors.read(fromTorch.resolve(Checkpoint.OPTIMIZER_FILE));
        SafeTensors.Contents optOwn = SafeTensors.read(fromToygpt.resolve(Checkpoint.OPTIMIZER_FILE));
        assertEquals(optOwn.metadata(), optTorch.metadata());
        assertEquals(optOwn.names(), optTorch.names());
        for (String name : optOwn.names()) {
            if (name.startsWith("exp_avg.")) close(name, optOwn.get(name).floats(), optTorch.get(name).floats(), RTOL, 1e-7);
        }
        assertMetricsClose(toygpt.resolve(RunDirectory.METRICS), folder.resolve("run").resolve(RunDirectory.METRICS));
    }

    @Test
    void torchrunWithTwoProcessesContinuesAndToyGptTakesTheRunBack() throws Exception {
        Path folder = tmp.resolve("two");
        Cli.ok("export", "--checkpoint", run.toString(), "--pytorch", folder.toString());
        Path dist = tmp.resolve("dist");
        List<String> command = new ArrayList<>(torchrun());
        // --redirects 1 --tee 1: Debian's torchrun (PyTorch 1.13 on Python 3.11) fails at start with its defaults
        command.addAll(List.of("--redirects", "1", "--tee", "1", "--standalone", "--nproc_per_node", "2",
                folder.resolve("train.py").toString(), "--device", "cpu", "--max-iters", "120", "--out", dist.toString(),
                // rows 0-1 in one pass on the first process, rows 2-4 in two (2 + 1) on the second: gradient accumulation
                "--micro-batch", "2"));
        String out = python(folder, command);
        assertTrue(out.contains("2 processes"), out);

        Path last = new RunDirectory(dist).last();
        assertEquals("step-000120", last.getFileName().toString());
        JsonNode state = JSON.readTree(last.resolve(Checkpoint.STATE_FILE).toFile());
        assertTrue(state.path("engine").asText().startsWith("pytorch "), state.toString());
        assertEquals(2, state.path("processes").asInt());

        List<MetricsLog.Row> rows = MetricsLog.read(dist.resolve(RunDirectory.METRICS));
        assertEquals(List.of(0L, 20L, 40L, 60L, 80L, 100L, 120L), rows.stream().map(MetricsLog.Row::step).toList());
        double atHandover = rows.get(1).valLoss(), atEnd = rows.get(6).valLoss();
        assertTrue(atEnd < atHandover - 0.3, "the validation loss falls in PyTorch: " + atHandover + " -> " + atEnd);
        assertTrue(rows.get(6).trainLoss() < rows.get(1).trainLoss() - 0.3, rows.toString());

        // the global batch is the run's, whatever the processes and micro-batches: ToyGPT's own 100 steps give the same weights
        Path toygpt = copyRun(run, tmp.resolve("toygpt-120"));
        Cli.ok("train", "--out", toygpt.toString(), "--resume", "--data", text.toString(), "--max-iters", "120", "--threads", "1", "--sample-tokens", "0");
        assertWeightsClose(new RunDirectory(toygpt).last(), last);

        // ToyGPT's reading commands accept the PyTorch-written run
        JsonNode eval = JSON.readTree(Cli.ok("eval", "--checkpoint", last.toString(), "--data", text.toString(), "--json",
                "--eval-iters", "200", "--batch-size", "32").out());
        assertEquals(rows.get(6).valLoss(), eval.path("val_loss").asDouble(), 0.1, "ToyGPT's estimate agrees with PyTorch's within noise");
        assertEquals(rows.get(6).trainLoss(), eval.path("train_loss").asDouble(), 0.1);
        assertFalse(Cli.ok("sample", "--checkpoint", dist.toString(), "--max-new-tokens", "30").out().isBlank());
        Cli.ok("plot", dist.toString(), "--out", tmp.resolve("dist.png").toString());

        // and continues the run
        Cli.Result resumed = Cli.ok("train", "--out", dist.toString(), "--resume", "--data", text.toString(), "--max-iters", "140",
                "--threads", "1", "--sample-tokens", "0");
        assertTrue(resumed.err().contains("resuming from " + dist.resolve("step-000120") + " at step 120"), resumed.err());
        Path back = new RunDirectory(dist).last();
        assertEquals("step-000140", back.getFileName().toString());
        assertTrue(JSON.readTree(back.resolve(Checkpoint.STATE_FILE).toFile()).path("engine").asText().startsWith("toygpt "));
        List<MetricsLog.Row> after = MetricsLog.read(dist.resolve(RunDirectory.METRICS));
        assertEquals(140L, after.get(after.size() - 1).step());
        assertEquals(8, after.size(), "one row per evaluation, none repeated");
    }

    /**
     * A run on the time schedule, with a step limit that ends it long before its hour: after the hand-over its
     * learning rate goes by the steps (the larger share of the budget), so PyTorch's steps 20 to 30 must match
     * ToyGPT's own, and so must the evaluation batches, a twentieth of them inside a timed run and all at its end,
     * with two processes.
     */
    @Test
    void aRunOnTheTimeScheduleContinuesWithToyGptsRatesAndEvaluations() throws Exception {
        Path timed = tmp.resolve("timed");
        Cli.trainTiny(text, timed, 20, "--batch-size", "5", "--dropout", "0", "--eval-interval", "5", "--eval-iters", "40",
                "--time-limit", "1h", "--warmup-iters", "3", "--threads", "1");
        assertEquals("time", JSON.readTree(new RunDirectory(timed).last().resolve(Checkpoint.STATE_FILE).toFile())
                .path("settings").path("schedule").asText());
        Path folder = tmp.resolve("timed-pytorch");
        Cli.ok("export", "--checkpoint", timed.toString(), "--pytorch", folder.toString());
        assertTrue(Files.readString(folder.resolve("README.md")).contains("the run's settings say 20 steps or 3600 s"));
        // two processes: they stop on the first one's clock, and share the evaluation batches
        List<String> command = new ArrayList<>(torchrun());
        command.addAll(List.of("--redirects", "1", "--tee", "1", "--standalone", "--nproc_per_node", "2",
                folder.resolve("train.py").toString(), "--device", "cpu", "--max-iters", "30"));
        String out = python(folder, command);
        assertTrue(out.contains("finished 30 steps"), out);

        Path toygpt = copyRun(timed, tmp.resolve("timed-toygpt"));
        Cli.ok("train", "--out", toygpt.toString(), "--resume", "--data", text.toString(), "--max-iters", "30", "--threads", "1", "--sample-tokens", "0");
        Path fromTorch = new RunDirectory(folder.resolve("run")).last(), fromToygpt = new RunDirectory(toygpt).last();
        JsonNode torchState = JSON.readTree(fromTorch.resolve(Checkpoint.STATE_FILE).toFile()).path("state");
        JsonNode ownState = JSON.readTree(fromToygpt.resolve(Checkpoint.STATE_FILE).toFile()).path("state");
        assertEquals(ownState.path("trainRng").asLong(), torchState.path("trainRng").asLong());
        assertEquals(ownState.path("evalRng").asLong(), torchState.path("evalRng").asLong(), "the same evaluation batches, as many of them");
        assertWeightsClose(fromToygpt, fromTorch);
        assertMetricsClose(toygpt.resolve(RunDirectory.METRICS), folder.resolve("run").resolve(RunDirectory.METRICS));
    }

    /**
     * A run whose only budget is its time: train.py stops when the run's time is up, counted from its start, and
     * until then follows the time schedule by elapsed time; a run whose time is already up needs a new limit.
     */
    @Test
    void trainPyStopsWhenTheRunsTimeIsUp() throws Exception {
        Path timed = tmp.resolve("time-only");
        Cli.ok("train", "--model", "gpt", "--data", text.toString(), "--out", timed.toString(), "--n-embd", "16", "--n-head", "2",
                "--n-layer", "1", "--block-size", "8", "--batch-size", "4", "--eval-interval", "50", "--eval-iters", "20",
                "--time-limit", "2s", "--threads", "1", "--sample-tokens", "0");
        Path folder = tmp.resolve("time-only-pytorch");
        Cli.Result exportedRun = Cli.ok("export", "--checkpoint", timed.toString(), "--pytorch", folder.toString());
        assertTrue(exportedRun.err().contains("train.py --time-limit DURATION"), exportedRun.err());
        assertTrue(Files.readString(folder.resolve("README.md")).contains("2 s of training time and no step limit"));
        JsonNode exported = JSON.readTree(new RunDirectory(timed).last().resolve(Checkpoint.STATE_FILE).toFile());
        long handedOver = exported.path("state").path("step").asLong();

        String up = python(folder, List.of("/usr/bin/python3", folder.resolve("train.py").toString()));
        assertTrue(up.contains(String.format(Locale.ROOT, "nothing to train: the run's budget (2 s) was spent at step %,d", handedOver)), up);
        assertTrue(up.contains("to train on, give --time-limit longer than 2 s (the whole run's time, counted from its start)"), up);
        assertFalse(up.contains("nan"), up);
        assertEquals(List.of(new RunDirectory(timed).last().getFileName().toString()),
                TinyRuns.entries(folder.resolve("run")).stream().filter(f -> f.startsWith("step-")).toList(), "nothing trained, nothing written");

        String out = python(folder, List.of("/usr/bin/python3", folder.resolve("train.py").toString(), "--time-limit", "4s"));
        assertTrue(out.contains("time limit reached after"), out);
        Path last = new RunDirectory(folder.resolve("run")).last();
        JsonNode state = JSON.readTree(last.resolve(Checkpoint.STATE_FILE).toFile());
        assertTrue(state.path("engine").asText().startsWith("pytorch "), state.toString());
        assertTrue(state.path("state").path("step").asLong() > handedOver, state.toString());
        assertTrue(state.path("state").path("elapsedSeconds").asDouble() >= 4, state.toString());
        TrainSettings settings = Checkpoint.readSettings(last);
        assertEquals(4.0, settings.timeLimitSeconds());
        List<MetricsLog.Row> rows = MetricsLog.read(folder.resolve("run").resolve(RunDirectory.METRICS));
        List<MetricsLog.Row> torchRows = rows.stream().filter(r -> r.step() > handedOver).toList();
        assertFalse(torchRows.isEmpty(), rows.toString());
        for (MetricsLog.Row r : torchRows) { // the CSV keeps 6 digits of the rate and milliseconds of the time
            double expected = Trainer.timeScheduleRate(settings, r.step(), r.elapsedSeconds());
            double withinTheMillisecond = Math.abs(Trainer.timeScheduleRate(settings, r.step(), r.elapsedSeconds() + 5e-4)
                    - Trainer.timeScheduleRate(settings, r.step(), r.elapsedSeconds() - 5e-4));
            assertEquals(expected, r.lr(), withinTheMillisecond + 1e-5 * expected, "learning rate at step " + r.step() + " after " + r.elapsedSeconds() + " s");
        }
        assertTrue(torchRows.get(torchRows.size() - 1).lr() < 0.5 * settings.learningRate(), "the rate decays as the time runs out: " + torchRows);
    }

    /** train.py's time schedule gives ToyGPT's floats, through the warm-up steps, the warm-up share, the full rate and the decay. */
    @Test
    void trainPysTimeScheduleIsToyGptsToTheBit() throws Exception {
        Path folder = tmp.resolve("schedule");
        Cli.ok("export", "--checkpoint", run.toString(), "--pytorch", folder.toString());
        TrainSettings settings = new TrainSettings(8, 500, 10, 5, 3e-3f, "adamw", 0.1f, 1f, "time", 7, 3e-4f, 1, 0.9, 45.5, 1);
        List<long[]> grid = new ArrayList<>();
        StringBuilder points = new StringBuilder("[");
        for (long step : new long[] {0, 3, 6, 7, 20, 250, 301, 499, 500, 700}) {
            for (double elapsed : new double[] {0, 0.4, 2.2, 2.3, 20, 27.3, 27.31, 30, 45.49, 45.5, 90}) {
                grid.add(new long[] {step, Double.doubleToLongBits(elapsed)});
                points.append(String.format(Locale.ROOT, "(%d, %s),", step, Double.toString(elapsed)));
            }
        }
        String script = String.join("\n", "import sys, json", "sys.path.insert(0, " + JSON.writeValueAsString(folder.toString()) + ")",
                "import train", "s = json.loads(sys.argv[1])", "f = train.learning_rate_schedule(s)",
                "print(' '.join(repr(f(step, elapsed)) for step, elapsed in " + points + "]))");
        String out = python(folder, List.of("/usr/bin/python3", "-c", script, JSON.writeValueAsString(settings))).strip();
        String[] rates = out.split(" ");
        assertEquals(grid.size(), rates.length, out);
        for (int i = 0; i < rates.length; i++) {
            long step = grid.get(i)[0];
            double elapsed = Double.longBitsToDouble(grid.get(i)[1]);
            assertEquals(Trainer.timeScheduleRate(settings, step, elapsed), (float) Double.parseDouble(rates[i]), "step " + step + " after " + elapsed + " s");
        }
    }

    /** model.py has the small models too: the one-hot MLP, whose input side is indexed by token. */
    @Test
    void theOneHotMlpContinuesToo() throws Exception {
        Path mlp = tmp.resolve("mlp");
        Cli.ok("train", "--model", "mlp-onehot", "--data", text.toString(), "--out", mlp.toString(), "--max-iters", "20",
                "--eval-interval", "10", "--eval-iters", "5", "--threads", "1", "--sample-tokens", "0");
        Path folder = tmp.resolve("mlp-pytorch");
        Cli.ok("export", "--checkpoint", mlp.toString(), "--pytorch", folder.toString());
        python(folder, List.of("/usr/bin/python3", folder.resolve("train.py").toString(), "--max-iters", "30"));
        Path toygpt = copyRun(mlp, tmp.resolve("mlp-toygpt"));
        Cli.ok("train", "--out", toygpt.toString(), "--resume", "--data", text.toString(), "--max-iters", "30", "--threads", "1", "--sample-tokens", "0");
        SafeTensors.Contents x = SafeTensors.read(new RunDirectory(toygpt).last().resolve(Checkpoint.MODEL_FILE));
        SafeTensors.Contents y = SafeTensors.read(new RunDirectory(folder.resolve("run")).last().resolve(Checkpoint.MODEL_FILE));
        assertEquals(x.names(), y.names());
        for (String name : x.names()) close(name, x.get(name).floats(), y.get(name).floats(), RTOL, ATOL);
    }

    @Test
    void trainPyRefusesAnotherText() throws Exception {
        Path folder = tmp.resolve("other-text");
        Cli.ok("export", "--checkpoint", run.toString(), "--pytorch", folder.toString());
        Path other = tmp.resolve("other.txt");
        Files.writeString(other, TinyRuns.text().replace("king", "kong"), StandardCharsets.UTF_8);
        String out = trainPyRefuses(folder, "--data", other.toString(), "--max-iters", "25");
        assertTrue(out.contains("is not the text this run was trained on"), out);
        assertEquals(List.of("checkpoints.json", "metrics.csv", "step-000020"), TinyRuns.entries(folder.resolve("run")));
    }

    @Test
    void trainPyRefusesATimeLimitThatIsNotOne() throws Exception {
        Path folder = tmp.resolve("bad-limit");
        Cli.ok("export", "--checkpoint", run.toString(), "--pytorch", folder.toString());
        for (String[] bad : new String[][] {{"10 parsecs", "'10 parsecs' is not a duration; use e.g. 90s, 5m or 1h30m"},
                {"0s", "--time-limit must be positive, got 0.0"}}) {
            String out = trainPyRefuses(folder, "--time-limit", bad[0]);
            assertTrue(out.contains(bad[1]), out);
        }
        assertEquals(List.of("checkpoints.json", "metrics.csv", "step-000020"), TinyRuns.entries(folder.resolve("run")));
    }

    /**
     * A damaged checkpoint or hand-over folder (by hand, or by a disk) is refused with one line that names the file
     * and the field, and left as it was.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
            "state.json without settings.evalIters | state.json settings has no evalIters (a positive integer)",
            "state.json with a step that is text   | state.json state: step is \"seven\", not an integer >= 0",
            "state.json with an unknown schedule   | state.json settings: schedule is \"warp\", not constant, cosine or time",
            "state.json cut short                  | state.json is not valid JSON",
            "config.json with n_embd 8             | model.safetensors: token_embedding_table.weight has shape [42, 16], but the model config.json describes needs [42, 8]",
            "config.json with two layers           | model.safetensors does not hold the model config.json describes: lacks blocks.1.",
            "config.json with a repeated character | config.json: vocabulary is [",
            "model.safetensors cut short           | model.safetensors:",
            "optimizer.safetensors of the model    | optimizer.safetensors is not an optimizer's state",
            "checkpoints.json a list               | checkpoints.json is not ToyGPT's checkpoints.json",
            "checkpoints.json pointing outside     | run has no last checkpoint (checkpoints.json)",
            "data.json without the path            | data.json is not the export's data.json"})
    void trainPyRefusesADamagedCheckpoint(String damage, String message) throws Exception {
        Path folder = tmp.resolve("damaged-" + damage.replaceAll("[^a-z]+", "-"));
        Cli.ok("export", "--checkpoint", run.toString(), "--pytorch", folder.toString());
        Path step = folder.resolve("run").resolve("step-000020");
        Path state = step.resolve(Checkpoint.STATE_FILE), config = step.resolve("config.json");
        switch (damage) {
            case "state.json without settings.evalIters" -> editJson(state, j -> ((com.fasterxml.jackson.databind.node.ObjectNode) j.path("settings")).remove("evalIters"));
            case "state.json with a step that is text" -> editJson(state, j -> ((com.fasterxml.jackson.databind.node.ObjectNode) j.path("state")).put("step", "seven"));
            case "state.json with an unknown schedule" -> editJson(state, j -> ((com.fasterxml.jackson.databind.node.ObjectNode) j.path("settings")).put("schedule", "warp"));
            case "state.json cut short" -> Files.write(state, java.util.Arrays.copyOf(Files.readAllBytes(state), 40));
            case "config.json with n_embd 8" -> editJson(config, j -> ((com.fasterxml.jackson.databind.node.ObjectNode) j).put("n_embd", 8));
            case "config.json with two layers" -> editJson(config, j -> ((com.fasterxml.jackson.databind.node.ObjectNode) j).put("n_layer", 2));
            case "config.json with a repeated character" -> editJson(config, j -> ((com.fasterxml.jackson.databind.node.ArrayNode) j.path("vocabulary")).set(1, j.path("vocabulary").get(0)));
            case "model.safetensors cut short" -> Files.write(step.resolve(Checkpoint.MODEL_FILE), java.util.Arrays.copyOf(Files.readAllBytes(step.resolve(Checkpoint.MODEL_FILE)), 300));
            case "optimizer.safetensors of the model" -> Files.copy(step.resolve(Checkpoint.MODEL_FILE), step.resolve(Checkpoint.OPTIMIZER_FILE),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            case "checkpoints.json a list" -> Files.writeString(folder.resolve("run").resolve(RunDirectory.POINTERS), "[\"step-000020\"]");
            case "checkpoints.json pointing outside" -> Files.writeString(folder.resolve("run").resolve(RunDirectory.POINTERS), "{\"last\": \"../run\"}");
            case "data.json without the path" -> editJson(folder.resolve("data.json"), j -> ((com.fasterxml.jackson.databind.node.ObjectNode) j).remove("path"));
            default -> fail(damage);
        }
        java.util.Map<String, byte[]> before = files(folder.resolve("run"));
        String out = trainPyRefuses(folder, "--max-iters", "30");
        assertTrue(out.startsWith("error: ") && out.contains(message), out);
        assertEquals(1, out.strip().lines().count(), "one line: " + out);
        java.util.Map<String, byte[]> after = files(folder.resolve("run"));
        assertEquals(before.keySet(), after.keySet(), "no file written or removed");
        for (String f : before.keySet()) assertTrue(java.util.Arrays.equals(before.get(f), after.get(f)), f + " unchanged");
    }

    /** Every file under dir, by its path relative to dir, with its bytes. */
    private static java.util.Map<String, byte[]> files(Path dir) throws IOException {
        java.util.Map<String, byte[]> all = new java.util.TreeMap<>();
        try (var walk = Files.walk(dir)) {
            for (Path f : walk.filter(Files::isRegularFile).toList()) all.put(dir.relativize(f).toString(), Files.readAllBytes(f));
        }
        return all;
    }

    /** Runs folder's train.py with args, which must refuse them: exit code 2 and a message, no traceback. Returns what it printed. */
    private static String trainPyRefuses(Path folder, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("/usr/bin/python3", folder.resolve("train.py").toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue(), out);
        assertFalse(out.contains("Traceback"), out);
        return out;
    }

    private static void editJson(Path file, java.util.function.Consumer<JsonNode> edit) throws IOException {
        JsonNode j = JSON.readTree(file.toFile());
        edit.accept(j);
        Files.writeString(file, JSON.writeValueAsString(j), StandardCharsets.UTF_8);
    }

    @Test
    void exportRefusesAFolderInUseAndACheckpointWithoutTrainingState() throws IOException {
        Path used = tmp.resolve("used");
        Files.createDirectories(used);
        Files.writeString(used.resolve("notes.txt"), "mine");
        Cli.Result r = Cli.run("export", "--checkpoint", run.toString(), "--pytorch", used.toString());
        assertEquals(Main.BAD_INPUT, r.exitCode(), r.toString());
        assertTrue(r.err().contains("is not an empty directory"), r.err());
        assertEquals(List.of("notes.txt"), TinyRuns.entries(used));

        Path weights = tmp.resolve("w.safetensors"), imported = tmp.resolve("imported");
        Cli.ok("export", "--checkpoint", run.toString(), "--out", weights.toString());
        Cli.ok("import", "--weights", weights.toString(), "--data", text.toString(), "--out", imported.toString());
        Cli.Result noState = Cli.run("export", "--checkpoint", imported.toString(), "--pytorch", tmp.resolve("nostate").toString());
        assertEquals(Main.BAD_INPUT, noState.exitCode(), noState.toString());
        assertTrue(noState.err().contains("has no training state"), noState.err());
        assertFalse(Files.exists(tmp.resolve("nostate")));
    }

    /** torchrun as Debian installs it, or the module it runs. */
    static List<String> torchrun() {
        if (Files.isExecutable(Path.of("/usr/bin/torchrun"))) return List.of("/usr/bin/torchrun");
        return List.of("/usr/bin/python3", "-m", "torch.distributed.run");
    }

    /** Runs a Python command in dir; it must succeed within five minutes. Returns what it printed. */
    static String python(Path dir, List<String> command) throws Exception {
        Path log = dir.resolve("python.log");
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OMP_NUM_THREADS", "1");
        Process p = pb.start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            fail("timed out: " + command + "\n" + Files.readString(log));
        }
        String out = Files.readString(log);
        assertEquals(0, p.exitValue(), command + "\n" + out);
        return out;
    }

    static Path copyRun(Path from, Path to) throws IOException {
        try (var s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target);
            }
        }
        return to;
    }

    /** Every parameter of b's model.safetensors close to a's (b may hold the causal masks besides). */
    static void assertWeightsClose(Path a, Path b) throws IOException {
        SafeTensors.Contents x = SafeTensors.read(a.resolve(Checkpoint.MODEL_FILE)), y = SafeTensors.read(b.resolve(Checkpoint.MODEL_FILE));
        for (String name : x.names()) close(name, x.get(name).floats(), y.get(name).floats(), RTOL, ATOL);
        assertEquals(x.names().size() + 2, y.names().size(), "PyTorch's state_dict adds one tril per head: " + y.names());
    }

    static void close(String what, float[] expected, float[] actual, double rtol, double atol) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (Math.abs(expected[i] - actual[i]) > atol + rtol * Math.abs(expected[i])) {
                fail(what + "[" + i + "]: ToyGPT " + expected[i] + ", PyTorch " + actual[i]);
            }
        }
    }

    static void assertMetricsClose(Path expected, Path actual) throws IOException {
        List<MetricsLog.Row> a = MetricsLog.read(expected), b = MetricsLog.read(actual);
        assertEquals(a.stream().map(MetricsLog.Row::step).toList(), b.stream().map(MetricsLog.Row::step).toList());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).trainLoss(), b.get(i).trainLoss(), 1e-4, "train loss at " + a.get(i).step());
            assertEquals(a.get(i).valLoss(), b.get(i).valLoss(), 1e-4, "val loss at " + a.get(i).step());
            assertEquals(a.get(i).lr(), b.get(i).lr(), 1e-9, "learning rate at " + a.get(i).step());
        }
    }
}
