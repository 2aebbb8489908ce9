package dev.toygpt.cli;

import dev.toygpt.plot.Chart;
import dev.toygpt.plot.LossCurves;
import dev.toygpt.train.MetricsLog;
import dev.toygpt.train.RunDirectory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "plot", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Draw the loss curves of one or more runs on one chart (PNG or SVG).",
                "Each run directory also has its own loss.png and loss.svg."})
final class PlotCommand implements Callable<Integer> {
    @Parameters(paramLabel = "RUN_DIR", arity = "1..*", description = "run directories (each with a metrics.csv)")
    List<Path> runs;
    @Option(names = "--out", paramLabel = "FILE", defaultValue = "loss.png", description = "the chart: FILE.png or FILE.svg (default: ${DEFAULT-VALUE})")
    Path out;
    @Option(names = "--title", paramLabel = "TEXT", description = "the chart's title (default: the run's name, or \"Loss curves\")")
    String title;

    @Override
    public Integer call() throws IOException {
        try {
            Chart.Format.of(out);
        } catch (IllegalArgumentException e) {
            throw new UserInputException("--out must name a .png or .svg file, got " + out);
        }
        if (Files.isDirectory(out)) throw new UserInputException("--out names a directory, " + out + "; give a file name ending in .png or .svg");
        List<LossCurves.Run> curves = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (Path dir : runs) names.add(LossCurves.name(dir));
        boolean sameNames = names.size() < runs.size(); // two runs both called "run": tell them apart by their paths
        for (Path dir : runs) curves.add(new LossCurves.Run(sameNames ? dir.toString() : LossCurves.name(dir), read(dir)));
        String heading = title != null ? title : runs.size() == 1 ? "Loss: " + curves.get(0).name() : "Loss curves";
        LossCurves.chart(heading, curves, false).write(out);
        Console.err().println("chart written to " + out.toAbsolutePath().normalize());
        return 0;
    }

    /** A run's evaluations; bad input (no directory, no metrics.csv, an unreadable or empty one) is said plainly. */
    private static List<MetricsLog.Row> read(Path dir) {
        if (!Files.exists(dir)) throw new UserInputException("no run at " + dir + ": the directory does not exist");
        if (!Files.isDirectory(dir)) throw new UserInputException(dir + " is a file, not a run directory: give the directory that holds metrics.csv");
        Path metrics = new RunDirectory(dir).metricsFile();
        if (!Files.isRegularFile(metrics)) {
            throw new UserInputException(dir + " has no " + RunDirectory.METRICS + ": is it a run directory made by 'toygpt train'?");
        }
        List<MetricsLog.Row> rows;
        try {
            rows = MetricsLog.read(metrics);
        } catch (IOException | RuntimeException e) {
            throw new UserInputException(metrics + " cannot be read as a metrics file (" + e.getMessage()
                    + "); expected the columns " + MetricsLog.HEADER);
        }
        if (rows.isEmpty()) throw new UserInputException(metrics + " has no evaluations yet: nothing to draw");
        return rows;
    }
}
