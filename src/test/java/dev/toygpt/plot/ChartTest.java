package dev.toygpt.plot;

import dev.toygpt.train.MetricsLog;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loss charts: the files, their legends, and that a failing chart never stops training. */
class ChartTest {
    @TempDir
    Path tmp;

    /** Losses that fall like a real run's: from about ln(65) towards 2, validation a little above training. */
    static List<MetricsLog.Row> rows(int evaluations, double offset) {
        List<MetricsLog.Row> rows = new ArrayList<>();
        for (int i = 0; i < evaluations; i++) {
            double train = 2 + offset + 2.2 * Math.exp(-i / 3.0);
            rows.add(new MetricsLog.Row(100L * i, train, train + 0.05 * i / evaluations, 1e-3, i));
        }
        return rows;
    }

    @Test
    void oneRunGivesAPngAndAnSvgWithTrainAndValidation() throws Exception {
        Chart chart = LossCurves.chart("Loss: demo", List.of(new LossCurves.Run("demo", rows(12, 0))), false);
        assertEquals(List.of("train", "validation"), chart.labels());
        List<Path> files = chart.writePngAndSvg(tmp, "loss");
        assertEquals(List.of(tmp.resolve("loss.png"), tmp.resolve("loss.svg")), files);
        var image = ChartFiles.assertPng(files.get(0));
        assertEquals(1100, image.getWidth());
        assertEquals(650, image.getHeight());
        Document svg = ChartFiles.assertSvg(files.get(1), "train", "validation", "step", "loss (nats per character)");
        assertEquals("Loss: demo", svg.getElementsByTagNameNS("http://www.w3.org/2000/svg", "title").item(0).getTextContent());
        // written atomically: no temporary file is left beside them
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of("loss.png", "loss.svg"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void severalRunsAreNamedInTheLegendAndEqualNamesAreKeptApart() throws Exception {
        Chart chart = LossCurves.chart("Loss curves", List.of(new LossCurves.Run("seed", rows(8, 0)),
                new LossCurves.Run("baby", rows(8, -0.3)), new LossCurves.Run("seed", rows(3, 0.2))), false);
        assertEquals(List.of("seed: train", "seed: validation", "baby: train", "baby: validation",
                "seed: train (2)", "seed: validation (2)"), chart.labels());
        Path svg = tmp.resolve("runs.svg");
        chart.write(svg);
        ChartFiles.assertSvg(svg, "seed: train", "baby: validation", "seed: validation (2)");
        Path png = tmp.resolve("runs.PNG"); // the extension's case does not matter
        chart.write(png);
        ChartFiles.assertPng(png);
    }

    @Test
    void titlesAndLabelsWithMarkupCharactersStayValidXml() throws Exception {
        Chart chart = LossCurves.chart("a < b & \"c\"", List.of(new LossCurves.Run("<run> & co", rows(4, 0)),
                new LossCurves.Run("été 🌍", rows(4, 0.1))), false);
        Path svg = tmp.resolve("odd.svg");
        chart.write(svg);
        Document doc = ChartFiles.assertSvg(svg, "<run> & co: train", "été 🌍: validation");
        assertEquals("a < b & \"c\"", doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", "title").item(0).getTextContent());
    }

    @Test
    void aSingleEvaluationAndALogarithmicAxisStillDraw() throws Exception {
        Chart single = LossCurves.chart("one point", List.of(new LossCurves.Run("r", rows(1, 0))), false);
        single.write(tmp.resolve("single.png"));
        ChartFiles.assertPng(tmp.resolve("single.png"));

        // on a log axis step 0 cannot be shown: it is left out, the rest is drawn
        Chart log = LossCurves.chart("log", List.of(new LossCurves.Run("r", rows(6, 0))), true);
        log.write(tmp.resolve("log.png"));
        ChartFiles.assertPng(tmp.resolve("log.png"));

        Chart onlyZero = LossCurves.chart("log", List.of(new LossCurves.Run("r", rows(1, 0))), true);
        assertFalse(onlyZero.hasData());
        assertThrows(IllegalStateException.class, () -> onlyZero.write(tmp.resolve("nothing.png")));
    }

    @Test
    @org.junit.jupiter.api.Timeout(30)
    void aDivergedRunsHugeLossesAreDrawnToo() throws Exception {
        // the losses a run logs at its last evaluation before the loss became NaN
        List<MetricsLog.Row> rows = List.of(new MetricsLog.Row(0, 3.80, 3.78, 1e4, 0.01), new MetricsLog.Row(10, 2.0e31, 2.07e31, 1e4, 0.06),
                new MetricsLog.Row(20, Double.MAX_VALUE, Double.MAX_VALUE, 1e4, 0.1));
        Chart chart = LossCurves.chart("diverged", List.of(new LossCurves.Run("r", rows)), false);
        chart.writePngAndSvg(tmp, "diverged");
        ChartFiles.assertPng(tmp.resolve("diverged.png"));
        ChartFiles.assertSvg(tmp.resolve("diverged.svg"), "train", "validation");
    }

    @Test
    void onlyPngAndSvgAreWritten() {
        Chart chart = LossCurves.chart("t", List.of(new LossCurves.Run("r", rows(3, 0))), false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> chart.write(tmp.resolve("chart.jpg")));
        assertTrue(e.getMessage().contains(".png or .svg"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("chart.jpg")));
    }

    @Test
    void validationChartLeavesOutStepZero() throws Exception {
        Chart chart = LossCurves.validationChart("compare", List.of(new LossCurves.Run("a", rows(5, 0)), new LossCurves.Run("b", rows(5, 0.1))));
        assertEquals(List.of("a", "b"), chart.labels());
        chart.write(tmp.resolve("v.svg"));
        ChartFiles.assertSvg(tmp.resolve("v.svg"), "a", "b", "validation loss");
    }

    @Test
    void theRunPlotterDrawsAfterEvaluationsAndAtTheEnd() throws Exception {
        RunDirectory run = new RunDirectory(tmp.resolve("run"));
        MetricsLog log = new MetricsLog(run.metricsFile());
        ByteArrayOutputStream warnings = new ByteArrayOutputStream();
        RunPlotter plotter = new RunPlotter(run, "Loss: run", new PrintStream(warnings, true, StandardCharsets.UTF_8));
        List<MetricsLog.Row> rows = rows(3, 0);
        log.append(rows.get(0));
        plotter.evaluated(0, rows.get(0).trainLoss(), rows.get(0).valLoss(), true);
        ChartFiles.assertPng(run.path().resolve("loss.png"));
        ChartFiles.assertSvg(run.path().resolve("loss.svg"), "train", "validation");
        String before = Files.readString(run.path().resolve("loss.svg"));
        // evaluations right after a drawing wait (charts must stay cheap)...
        log.append(rows.get(1));
        log.append(rows.get(2));
        plotter.evaluated(100, rows.get(1).trainLoss(), rows.get(1).valLoss(), true);
        plotter.evaluated(200, rows.get(2).trainLoss(), rows.get(2).valLoss(), true);
        // ...and finish() draws them
        plotter.finish();
        assertFalse(Files.readString(run.path().resolve("loss.svg")).equals(before), "the final chart should show all three evaluations");
        assertEquals("", warnings.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aChartThatCannotBeWrittenGivesOneWarningAndNoException() throws IOException {
        RunDirectory run = new RunDirectory(tmp.resolve("run"));
        new MetricsLog(run.metricsFile()).append(rows(1, 0).get(0));
        // loss.png is a directory with something in it: it cannot be replaced by a file
        Files.createDirectories(run.path().resolve("loss.png"));
        Files.writeString(run.path().resolve("loss.png").resolve("keep"), "x");
        ByteArrayOutputStream warnings = new ByteArrayOutputStream();
        RunPlotter plotter = new RunPlotter(run, "t", new PrintStream(warnings, true, StandardCharsets.UTF_8));
        Trainer.Listener both = plotter.and(new Trainer.Listener() {});
        assertDoesNotThrow(() -> {
            both.evaluated(0, 4, 4, true);
            both.evaluated(10, 3, 3, true);
            plotter.finish();
        });
        String text = warnings.toString(StandardCharsets.UTF_8);
        assertTrue(text.startsWith("warning: could not draw the loss chart in " + run.path()), text);
        assertEquals(1, text.lines().count(), "one warning, not one per evaluation: " + text);
    }
}
