package dev.toygpt.cli;

import dev.toygpt.plot.ChartFiles;
import dev.toygpt.train.TinyRuns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A real Ctrl-C during an experiment: the model in training stops, the rest is skipped, and what was reached is reported. */
class ExperimentCtrlCTest {
    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void sigintStopsTheExperimentAndReportsWhatWasReached() throws Exception {
        assumeTrue(ToygptChild.canSignal(), "no kill command");
        Path data = TinyRuns.writeText(tmp);
        Path out = tmp.resolve("experiment");
        String err, report;
        int exit;
        try (ToygptChild child = new ToygptChild(tmp, List.of("experiment", "block-size", "--data", data.toString(),
                "--out", out.toString(), "--tiny", "--step-scale", "100"))) { // 100,000 steps per block size: only Ctrl-C ends it soon
            child.awaitStderr("[block-8] step 25,000/100,000", 90);
            exit = child.interrupt();
            err = child.err();
            report = child.out();
        }
        assertEquals(130, exit, err);
        // the table has block size 8 at its last evaluation; the other block sizes were skipped
        assertTrue(report.contains("Note: block size 8: stopped at step"), report);
        assertTrue(report.contains("Note: block size 16 not run: stopped (Ctrl-C)"), report);
        assertTrue(report.lines().anyMatch(l -> l.matches(" +8 +[0-9,]+ +25,000 .*")), report);
        assertTrue(report.contains("Result: fewer than two block sizes were trained"), report);
        assertEquals(report, Files.readString(out.resolve("summary.txt")));
        ChartFiles.assertPng(out.resolve("block-size.png"));
        // the stopped run is a normal run directory, with its chart, that `train --resume` could continue
        ChartFiles.assertPng(out.resolve("block-8").resolve("loss.png"));
        assertTrue(Files.isRegularFile(out.resolve("block-8").resolve("checkpoints.json")));
    }

}
