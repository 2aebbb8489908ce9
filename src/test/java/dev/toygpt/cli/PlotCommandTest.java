package dev.toygpt.cli;

import dev.toygpt.plot.ChartFiles;
import dev.toygpt.train.TinyRuns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loss charts from the command line: every train run draws its own, and plot compares runs. */
class PlotCommandTest extends CliTestBase {
    @TempDir
    Path tmp;

    @Test
    void everyTrainRunDrawsItsLossCurves() throws Exception {
        Path data = TinyRuns.writeText(tmp);
        Path out = tmp.resolve("run");
        Cli.trainTiny(data, out, 30);
        ChartFiles.assertPng(out.resolve("loss.png"));
        ChartFiles.assertSvg(out.resolve("loss.svg"), "train", "validation", "step");

        // a resumed run redraws its chart with the new evaluations
        String before = Files.readString(out.resolve("loss.svg"));
        Cli.ok(Cli.tinyGpt(data, out, 60, "--resume").toArray(String[]::new));
        assertFalse(Files.readString(out.resolve("loss.svg")).equals(before), "the chart should show the steps after 30 too");
        ChartFiles.assertPng(out.resolve("loss.png"));
    }

    @Test
    void aChartThatCannotBeWrittenDoesNotStopTraining() throws Exception {
        Path data = TinyRuns.writeText(tmp);
        Path out = tmp.resolve("run");
        // loss.png is taken by a directory with a file in it: the chart cannot replace it
        Files.createDirectories(out.resolve("loss.png"));
        Files.writeString(out.resolve("loss.png").resolve("mine.txt"), "do not touch");
        Cli.Result r = Cli.trainTiny(data, out, 20);
        assertTrue(r.err().contains("warning: could not draw the loss chart"), r.err());
        assertTrue(r.err().contains("finished 20 steps"), r.err());
        assertTrue(Files.isDirectory(out.resolve(TinyRuns.stepName(20))));
        assertEquals("do not touch", Files.readString(out.resolve("loss.png").resolve("mine.txt")));
    }

    @Test
    void plotDrawsTwoRunsOnOneChart() throws Exception {
        Path data = write(tmp.resolve("play.txt"), PLAY);
        Path a = trainTinyBigram(data, tmp.resolve("runs").resolve("first"));
        Path b = tmp.resolve("runs").resolve("second");
        assertSucceeded(run(args("train", "--data", data, "--out", b, TINY_BIGRAM, "--lr", "0.05")));

        Path png = tmp.resolve("charts").resolve("both.png");
        Run r = assertSucceeded(run(args("plot", a, b, "--out", png, "--title", "Two learning rates")));
        assertEquals("", r.out(), "plot prints nothing on stdout");
        assertTrue(r.err().contains("chart written to " + png.toAbsolutePath()), r.err());
        ChartFiles.assertPng(png);

        Path svg = tmp.resolve("both.svg");
        assertSucceeded(run(args("plot", a, b, "--out", svg)));
        var doc = ChartFiles.assertSvg(svg, "first: train", "first: validation", "second: train", "second: validation");
        assertEquals("Loss curves", doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", "title").item(0).getTextContent());

        // two runs with the same directory name are told apart by their paths
        Path other = copyTree(a, tmp.resolve("elsewhere").resolve("first"));
        Path same = tmp.resolve("same.svg");
        assertSucceeded(run(args("plot", a, other, "--out", same)));
        ChartFiles.assertSvg(same, a + ": train", other + ": validation");

        // one run: its name is the title, the legend says train and validation
        Path one = tmp.resolve("one.svg");
        assertSucceeded(run(args("plot", a, "--out", one)));
        doc = ChartFiles.assertSvg(one, "train", "validation");
        assertEquals("Loss: first", doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", "title").item(0).getTextContent());
    }

    @Test
    void withoutOutTheChartIsLossPngInTheCurrentDirectoryEvenWithABrokenDisplay() throws Exception {
        Path data = write(tmp.resolve("play.txt"), PLAY);
        Path a = trainTinyBigram(data, tmp.resolve("a"));
        Path here = Files.createDirectories(tmp.resolve("here"));
        // a child JVM, to have a working directory of its own; DISPLAY names no X server: charts are drawn headless
        ProcessBuilder pb = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "plot", a.toString())
                .directory(here.toFile()).redirectErrorStream(true);
        pb.environment().put("DISPLAY", ":97");
        Process child = pb.start();
        String output = new String(child.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, child.waitFor(), output);
        assertTrue(output.contains("chart written to " + here.resolve("loss.png").toRealPath()), output);
        ChartFiles.assertPng(here.resolve("loss.png"));
    }

    @Test
    void badInputIsExplained() throws Exception {
        Path data = write(tmp.resolve("play.txt"), PLAY);
        Path good = trainTinyBigram(data, tmp.resolve("good"));
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Path out = tmp.resolve("chart.png");

        assertBadInput(run(args("plot", good, empty, "--out", out)), empty.toString(), "has no metrics.csv", "toygpt train");
        assertBadInput(run(args("plot", tmp.resolve("nowhere"), "--out", out)), "nowhere", "does not exist");
        assertBadInput(run(args("plot", data, "--out", out)), "is a file, not a run directory");
        assertBadInput(run(args("plot", good, "--out", tmp.resolve("chart.jpg"))), "--out must name a .png or .svg file");
        assertBadInput(run(args("plot", good, "--out", Files.createDirectories(tmp.resolve("dir.png")))), "names a directory");

        Path corrupt = Files.createDirectories(tmp.resolve("corrupt"));
        write(corrupt.resolve("metrics.csv"), "step,train_loss,val_loss,lr,elapsed_s\n0,abc,4.1,0.01,0.5\n");
        assertBadInput(run(args("plot", corrupt, "--out", out)), "corrupt", "cannot be read as a metrics file", "step,train_loss");

        Path headerOnly = Files.createDirectories(tmp.resolve("new"));
        write(headerOnly.resolve("metrics.csv"), "step,train_loss,val_loss,lr,elapsed_s\n");
        assertBadInput(run(args("plot", headerOnly, "--out", out)), "no evaluations yet");

        assertBadInput(run("plot"), "RUN_DIR");
        assertFalse(Files.exists(out), "no chart is written when an input is bad");
        List<String> left;
        try (var s = Files.list(tmp)) {
            left = s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList();
        }
        assertEquals(List.of(), left);
    }
}
