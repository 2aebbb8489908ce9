package dev.toygpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.util.Rng;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What one run directory says about itself, read from its files: the model, how far training got, its
 * losses and its checkpoints. The playground lists runs with it. Values a starting run does not have yet
 * are null.
 *
 * @param maxIters the step budget, null when the run's only budget is its time limit
 * @param updated  the newest modification time of metrics.csv and checkpoints.json, in epoch milliseconds
 * @param finished whether the last checkpoint reached the step budget or the time limit
 */
public record RunSummary(String id, String model, Long parameters, Map<String, Object> config, Long step,
                         Integer maxIters, Double bestValLoss, Double lastTrainLoss, Double lastValLoss,
                         long updated, List<CheckpointInfo> checkpoints, boolean finished) {

    /** One checkpoint of the run, with a label for a menu ("best · step 1000 · val 1.951"). */
    public record CheckpointInfo(String id, String label, Long step, Double valLoss) {}

    /** Parameter counts by configuration: counting needs a model built, which is worth doing once. */
    private static final Map<ModelConfig, Long> PARAMETERS = new ConcurrentHashMap<>();

    public static RunSummary of(RunIndex.Run run) {
        List<MetricsLog.Row> rows = readMetrics(run.metricsFile());
        MetricsLog.Row lastRow = rows.isEmpty() ? null : rows.get(rows.size() - 1);
        Path last = run.checkpoints().get(run.id() + "@last");
        ModelConfig config = null;
        Integer maxIters = null;
        Long checkpointStep = null;
        Double bestValLoss = null;
        boolean timeUp = false;
        if (last != null) {
            try {
                config = Checkpoint.readConfig(last).getKey();
            } catch (CheckpointException e) {
                config = null; // a damaged checkpoint: list the run without its model
            }
            JsonNode state = readJson(last.resolve(Checkpoint.STATE_FILE));
            if (state != null) {
                if (state.path("settings").has("maxIters")) maxIters = state.path("settings").path("maxIters").asInt();
                if (maxIters != null && maxIters == TrainSettings.NO_STEP_LIMIT) maxIters = null; // trained by time alone
                if (state.path("state").has("step")) checkpointStep = state.path("state").path("step").asLong();
                double best = state.path("state").path("bestValLoss").asDouble(Double.NaN);
                if (!Double.isNaN(best)) bestValLoss = best;
                double limit = state.path("settings").path("timeLimitSeconds").asDouble(0);
                timeUp = limit > 0 && state.path("state").path("elapsedSeconds").asDouble(0) >= limit;
            }
        }
        JsonNode pointers = readJson(run.dir().resolve(RunDirectory.POINTERS));
        if (pointers != null && pointers.has("best_val_loss")) bestValLoss = pointers.get("best_val_loss").asDouble();
        if (bestValLoss == null && !rows.isEmpty()) bestValLoss = rows.stream().mapToDouble(MetricsLog.Row::valLoss).min().orElse(Double.NaN);
        Long step = lastRow == null ? checkpointStep : Long.valueOf(Math.max(lastRow.step(), checkpointStep == null ? 0 : checkpointStep));

        List<CheckpointInfo> checkpoints = new ArrayList<>();
        for (var e : run.checkpoints().entrySet()) {
            String name = e.getKey().substring(e.getKey().lastIndexOf('@') + 1);
            JsonNode state = readJson(e.getValue().resolve(Checkpoint.STATE_FILE));
            Long cpStep = state == null || !state.path("state").has("step") ? stepFromName(e.getValue()) : state.path("state").path("step").asLong();
            Double valLoss = null;
            if (state != null && state.path("state").has("evaluatedStep")) {
                long evaluated = state.path("state").path("evaluatedStep").asLong();
                for (MetricsLog.Row r : rows) if (r.step() == evaluated) valLoss = r.valLoss();
            }
            if (name.equals("best") && bestValLoss != null && !bestValLoss.isNaN()) valLoss = bestValLoss;
            StringBuilder label = new StringBuilder(name);
            if (cpStep != null) label.append(" · step ").append(cpStep);
            if (valLoss != null) label.append(String.format(Locale.ROOT, " · val %.3f", valLoss));
            checkpoints.add(new CheckpointInfo(e.getKey(), label.toString(), cpStep, valLoss));
        }
        return new RunSummary(run.id(), config == null ? null : config.kind().cliName(), config == null ? null : parameters(config),
                config == null ? null : configMap(config), step, maxIters, bestValLoss == null || bestValLoss.isNaN() ? null : bestValLoss,
                lastRow == null ? null : lastRow.trainLoss(), lastRow == null ? null : lastRow.valLoss(),
                Math.max(modified(run.metricsFile()), modified(run.dir().resolve(RunDirectory.POINTERS))), checkpoints,
                timeUp || maxIters != null && step != null && step >= maxIters);
    }

    /** metrics.csv's rows; a missing file or a torn last line (being written) gives what can be read. */
    public static List<MetricsLog.Row> readMetrics(Path file) {
        List<MetricsLog.Row> rows = new ArrayList<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            return rows;
        }
        for (String line : lines) {
            MetricsLog.Row r = parseRow(line);
            if (r != null) rows.add(r);
        }
        return rows;
    }

    /** One line of metrics.csv, or null for the header, a blank or a torn line. */
    public static MetricsLog.Row parseRow(String line) {
        if (line.isBlank() || line.startsWith("step")) return null;
        String[] f = line.trim().split(",");
        if (f.length < 5) return null;
        try {
            return new MetricsLog.Row(Long.parseLong(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2]),
                    Double.parseDouble(f[3]), Double.parseDouble(f[4]));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    public static long parameters(ModelConfig config) {
        return PARAMETERS.computeIfAbsent(config, c -> LanguageModel.create(c, new Rng(0)).parameterCount());
    }

    private static Map<String, Object> configMap(ModelConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", c.kind().cliName());
        m.put("vocabSize", c.vocabSize());
        m.put("nEmbd", c.nEmbd());
        m.put("nHead", c.nHead());
        m.put("nLayer", c.nLayer());
        m.put("blockSize", c.blockSize());
        m.put("dropout", c.dropout());
        m.put("hidden", c.hidden());
        return m;
    }

    private static Long stepFromName(Path dir) {
        String n = dir.getFileName().toString();
        try {
            return Long.parseLong(n.substring("step-".length()).split("-")[0]);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static JsonNode readJson(Path file) {
        if (!Files.isRegularFile(file)) return null;
        try {
            return Checkpoint.JSON.readTree(file.toFile());
        } catch (IOException e) {
            return null;
        }
    }

    private static long modified(Path file) {
        try {
            return Files.getLastModifiedTime(file).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }
}
