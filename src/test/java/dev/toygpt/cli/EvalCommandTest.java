package dev.toygpt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.train.MetricsLog;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.TinyRuns;
import dev.toygpt.train.TrainSettings;
import dev.toygpt.train.Trainer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** eval: one JSON line with the losses, which agree with what training logged for the same checkpoint. */
class EvalCommandTest {
    @TempDir
    static Path tmp;
    static Path data;
    static RunDirectory run;
    static List<MetricsLog.Row> logged;

    /** A run whose best checkpoint (step 20, evaluated) is not its last one (step 27, stopped). */
    @BeforeAll
    static void train() throws IOException {
        data = TinyRuns.writeText(tmp);
        run = new RunDirectory(tmp.resolve("run"));
        // batch 16, 40 batches per estimate: the logged losses are good estimates
        TrainSettings settings = new TrainSettings(16, 100, 10, 40, 1e-2f, "adamw", 0.01f, 0f, "constant", 0, 1e-3f, 3, 0.9, 0, 1);
        LanguageModel model = TinyRuns.model(TinyRuns.gpt(TinyRuns.corpus().vocabulary().size(), 0f), settings);
        Trainer[] trainer = new Trainer[1];
        trainer[0] = TinyRuns.trainer(model, settings, run, TinyRuns.stopAt(27, trainer));
        trainer[0].run();
        logged = MetricsLog.read(run.metricsFile());
        assertEquals(List.of(0L, 10L, 20L), logged.stream().map(MetricsLog.Row::step).toList());
        assertEquals(run.path().resolve(TinyRuns.stepName(20)), run.best(), "val loss went down at every evaluation");
        assertNotEquals(run.best(), run.last());
    }

    @Test
    void jsonIsOneLineWithLossesAndBitsPerCharacter() throws IOException {
        Cli.Result r = Cli.ok("eval", "--checkpoint", run.path().toString(), "--data", data.toString(), "--json",
                "--eval-iters", "50", "--batch-size", "16");
        List<String> lines = r.out().lines().toList();
        assertEquals(1, lines.size(), r.out());
        assertTrue(r.out().endsWith("\n"), r.out());
        JsonNode j = new ObjectMapper().readTree(lines.get(0));
        assertTrue(j.path("train_loss").isNumber() && j.path("val_loss").isNumber() && j.path("bits_per_char").isNumber(), j.toString());
        double train = j.path("train_loss").asDouble(), val = j.path("val_loss").asDouble();
        assertEquals(val / Math.log(2), j.path("bits_per_char").asDouble(), 2e-6);
        assertEquals(50, j.path("eval_iters").asInt());

        // a run directory means its best checkpoint, and the losses match what training logged for it (other batches)
        assertEquals(run.best().toString(), j.path("checkpoint").asText());
        MetricsLog.Row atBest = logged.get(2);
        assertEquals(atBest.trainLoss(), train, 0.15, "train loss: logged " + atBest.trainLoss() + ", eval " + train);
        assertEquals(atBest.valLoss(), val, 0.15, "val loss: logged " + atBest.valLoss() + ", eval " + val);
        assertTrue(val < logged.get(0).valLoss() - 0.2, "the trained model beats the initial one");

        // naming the checkpoint itself gives the very same numbers; the last checkpoint gives others
        Cli.Result direct = Cli.ok("eval", "--checkpoint", run.best().toString(), "--data", data.toString(), "--json",
                "--eval-iters", "50", "--batch-size", "16");
        assertEquals(r.out(), direct.out());
        Cli.Result last = Cli.ok("eval", "--checkpoint", run.last().toString(), "--data", data.toString(), "--json",
                "--eval-iters", "50", "--batch-size", "16");
        assertNotEquals(val, new ObjectMapper().readTree(last.out()).path("val_loss").asDouble());
    }

    @Test
    void plainOutputSaysBitsPerCharacter() {
        Cli.Result r = Cli.ok("eval", "--checkpoint", run.path().toString(), "--data", data.toString(), "--eval-iters", "5");
        assertTrue(r.out().contains("bits per character"), r.out());
        assertTrue(r.out().contains(run.best().toString()), r.out());
        assertFalse(r.out().trim().startsWith("{"), r.out());
    }

    @Test
    void textWithUnknownCharactersIsRefused() throws IOException {
        Path other = tmp.resolve("other.txt");
        java.nio.file.Files.writeString(other, "Zebras? Quixotic jazz! ".repeat(20));
        Cli.Result r = Cli.run("eval", "--checkpoint", run.path().toString(), "--data", other.toString(), "--json");
        assertEquals(Main.BAD_INPUT, r.exitCode());
        assertEquals("", r.out());
        assertTrue(r.err().contains("has text the model cannot read"), r.err());
    }
}
