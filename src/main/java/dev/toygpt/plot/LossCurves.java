package dev.toygpt.plot;

import dev.toygpt.train.MetricsLog;
import dev.toygpt.train.RunDirectory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Training and validation loss against step, for one run or several, from their metrics.csv. */
public final class LossCurves {
    public static final String X_AXIS = "step";
    public static final String Y_AXIS = "loss (nats per character)";
    /** The chart files every run directory gets: loss.png and loss.svg. */
    public static final String RUN_CHART = "loss";

    private LossCurves() {}

    /** A run's name (for the legend) and its evaluations. */
    public record Run(String name, List<MetricsLog.Row> rows) {}

    /**
     * One run: train and validation in two colours. Several: one colour per run, its training loss dashed
     * and its validation loss solid, so both the runs and the two splits can be told apart.
     */
    public static Chart chart(String title, List<Run> runs, boolean logX) {
        Chart chart = new Chart(title, X_AXIS, Y_AXIS);
        if (logX) chart.logX();
        boolean single = runs.size() == 1;
        for (int i = 0; i < runs.size(); i++) {
            Run run = runs.get(i);
            double[] steps = run.rows().stream().mapToDouble(MetricsLog.Row::step).toArray();
            double[] train = run.rows().stream().mapToDouble(MetricsLog.Row::trainLoss).toArray();
            double[] val = run.rows().stream().mapToDouble(MetricsLog.Row::valLoss).toArray();
            String prefix = single ? "" : run.name() + ": ";
            chart.line(prefix + "train", steps, train, Chart.color(single ? 0 : i), Chart.Stroke.DASHED);
            chart.line(prefix + "validation", steps, val, Chart.color(single ? 1 : i), Chart.Stroke.SOLID);
        }
        return chart;
    }

    /**
     * Several runs' validation loss only, one colour each, step 0 left out: for comparing runs, where the
     * starting loss (the same for all, about ln of the vocabulary size) would squash the part that differs.
     */
    public static Chart validationChart(String title, List<Run> runs) {
        Chart chart = new Chart(title, X_AXIS, "validation " + Y_AXIS);
        for (int i = 0; i < runs.size(); i++) {
            List<MetricsLog.Row> rows = runs.get(i).rows().stream().filter(r -> r.step() > 0).toList();
            chart.line(runs.get(i).name(), rows.stream().mapToDouble(MetricsLog.Row::step).toArray(),
                    rows.stream().mapToDouble(MetricsLog.Row::valLoss).toArray(), Chart.color(i), Chart.Stroke.SOLID);
        }
        return chart;
    }

    /** Draws a run directory's metrics.csv into its loss.png and loss.svg; false when it has no evaluation yet. */
    public static boolean writeRunCharts(RunDirectory run, String title) throws IOException {
        List<MetricsLog.Row> rows = MetricsLog.read(run.metricsFile());
        if (rows.isEmpty()) return false;
        chart(title, List.of(new Run(name(run.path()), rows)), false).writePngAndSvg(run.path(), RUN_CHART);
        return true;
    }

    /** What a run directory is called in titles and legends: its last path element. */
    public static String name(Path runDir) {
        Path abs = runDir.toAbsolutePath().normalize();
        return abs.getFileName() == null ? abs.toString() : abs.getFileName().toString();
    }
}
