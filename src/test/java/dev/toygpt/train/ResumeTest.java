package dev.toygpt.train;

import dev.toygpt.autograd.Tensor;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A run that is stopped and resumed must be indistinguishable from one that never stopped: the same
 * batches, dropout masks, optimizer moments and learning rates, hence bit for bit the same losses and weights.
 */
class ResumeTest {
    private static final int MAX_ITERS = 40, EVAL_INTERVAL = 10;
    private static final long SEED = 1234;

    @TempDir
    Path tmp;

    private TrainSettings settings = TinyRuns.settings(MAX_ITERS, EVAL_INTERVAL, SEED);
    private final ModelConfig config = TinyRuns.gpt(TinyRuns.corpus().vocabulary().size(), 0.1f);
    private Trainer.Result referenceResult;

    /** The uninterrupted run; returns its final model. */
    private LanguageModel uninterrupted(RunDirectory run) throws IOException {
        LanguageModel model = TinyRuns.model(config, settings);
        Trainer.Result r = TinyRuns.trainer(model, settings, run, null).run();
        referenceResult = r;
        assertEquals(MAX_ITERS, r.steps());
        assertEquals("finished " + MAX_ITERS + " steps", r.stopReason());
        return model;
    }

    /** Trains from the start (or from the run's last checkpoint) until the step given, or to the end if -1. */
    private Trainer.Result runUntil(RunDirectory run, long stopAt, boolean resume, LanguageModel[] modelOut) throws IOException {
        LanguageModel model = TinyRuns.model(config, settings);
        Trainer[] trainer = new Trainer[1];
        trainer[0] = TinyRuns.trainer(model, settings, run, stopAt < 0 ? null : TinyRuns.stopAt(stopAt, trainer));
        if (resume) trainer[0].resumeFrom(run.last());
        Trainer.Result r = trainer[0].run();
        modelOut[0] = model;
        return r;
    }

    @ParameterizedTest(name = "stopped at step {0}, {1} micro-batches")
    // between evaluations, and exactly on one (20 is evaluated only after resuming); micro-batches with dropout on
    @CsvSource({"17, 1", "20, 1", "17, 2"})
    void stoppedAndResumedRunEqualsUninterruptedRun(int stopAt, int microBatches) throws IOException {
        settings = TinyRuns.settings(MAX_ITERS, EVAL_INTERVAL, SEED, microBatches);
        RunDirectory whole = new RunDirectory(tmp.resolve("whole"));
        LanguageModel reference = uninterrupted(whole);

        RunDirectory split = new RunDirectory(tmp.resolve("split"));
        LanguageModel[] model = new LanguageModel[1];
        Trainer.Result first = runUntil(split, stopAt, false, model);
        assertEquals(stopAt, first.steps());
        assertEquals("stopped at step " + stopAt, first.stopReason());
        assertEquals(split.path().resolve(TinyRuns.stepName(stopAt)), split.last(), "the stop saves a checkpoint");
        assertEquals(split.path().resolve(TinyRuns.stepName(10)), split.best(),
                "step 10 is the only evaluation after step 0 (which is never saved)");

        Trainer.Result second = runUntil(split, -1, true, model);
        assertEquals(MAX_ITERS, second.steps());

        List<String> expected = TinyRuns.metricsWithoutTime(whole.metricsFile());
        assertEquals(List.of("step,train_loss,val_loss,lr", "0", "10", "20", "30", "40"),
                expected.stream().map(l -> l.startsWith("step") ? l : l.substring(0, l.indexOf(','))).toList());
        assertEquals(expected, TinyRuns.metricsWithoutTime(split.metricsFile()));
        assertEquals(referenceResult.bestValLoss(), second.bestValLoss());
        assertEquals(referenceResult.valLoss(), second.valLoss());

        assertSameWeights(reference, model[0]);
        assertEquals(split.path().resolve(TinyRuns.stepName(MAX_ITERS)), split.last());
        assertArrayEquals(Files.readAllBytes(whole.last().resolve(Checkpoint.MODEL_FILE)),
                Files.readAllBytes(split.last().resolve(Checkpoint.MODEL_FILE)));
        assertArrayEquals(Files.readAllBytes(whole.last().resolve(Checkpoint.OPTIMIZER_FILE)),
                Files.readAllBytes(split.last().resolve(Checkpoint.OPTIMIZER_FILE)), "Adam's moments and step count");
        assertEquals(whole.best().getFileName(), split.best().getFileName());
        assertEquals(TinyRuns.entries(whole.path()), TinyRuns.entries(split.path()), "no leftovers of the stop");
    }

    @Test
    void stoppingTwiceStillGivesTheSameRun() throws IOException {
        RunDirectory whole = new RunDirectory(tmp.resolve("whole"));
        LanguageModel reference = uninterrupted(whole);

        RunDirectory split = new RunDirectory(tmp.resolve("split"));
        LanguageModel[] model = new LanguageModel[1];
        assertEquals(3, runUntil(split, 3, false, model).steps()); // before the first checkpoint of an evaluation
        assertEquals(split.path().resolve(TinyRuns.stepName(3)), split.last());
        assertEquals(31, runUntil(split, 31, true, model).steps());
        assertEquals(MAX_ITERS, runUntil(split, -1, true, model).steps());

        assertEquals(TinyRuns.metricsWithoutTime(whole.metricsFile()), TinyRuns.metricsWithoutTime(split.metricsFile()));
        assertSameWeights(reference, model[0]);
    }

    @Test
    void resumingAFinishedRunChangesNothing() throws IOException {
        RunDirectory run = new RunDirectory(tmp.resolve("run"));
        LanguageModel reference = uninterrupted(run);
        List<String> metrics = TinyRuns.metricsWithoutTime(run.metricsFile());
        byte[] weights = Files.readAllBytes(run.last().resolve(Checkpoint.MODEL_FILE));

        LanguageModel[] model = new LanguageModel[1];
        Trainer.Result again = runUntil(run, -1, true, model);
        assertEquals(MAX_ITERS, again.steps());
        assertEquals(metrics, TinyRuns.metricsWithoutTime(run.metricsFile()));
        assertArrayEquals(weights, Files.readAllBytes(run.last().resolve(Checkpoint.MODEL_FILE)));
        assertSameWeights(reference, model[0]);
    }

    @Test
    void resumeRestoresStepOptimizerAndGenerators() throws IOException {
        RunDirectory run = new RunDirectory(tmp.resolve("run"));
        LanguageModel[] model = new LanguageModel[1];
        runUntil(run, 13, false, model);

        LanguageModel fresh = TinyRuns.model(config, settings);
        Trainer trainer = TinyRuns.trainer(fresh, settings, run, null);
        trainer.resumeFrom(run.last());
        assertEquals(13, trainer.step());
        assertEquals(13, trainer.optimizer().steps());
        assertSameWeights(model[0], fresh);
        TrainingState saved = new com.fasterxml.jackson.databind.ObjectMapper()
                .treeToValue(Checkpoint.JSON.readTree(run.last().resolve(Checkpoint.STATE_FILE).toFile()).path("state"), TrainingState.class);
        assertEquals(saved.dropoutRng(), fresh.dropoutRng().state());
        assertEquals(13, saved.step());
        assertEquals(10, saved.evaluatedStep());
        assertTrue(saved.elapsedSeconds() > 0);
    }

    static void assertSameWeights(LanguageModel expected, LanguageModel actual) {
        List<Tensor> e = expected.parameters(), a = actual.parameters();
        assertEquals(e.size(), a.size());
        for (int i = 0; i < e.size(); i++) {
            assertTrue(Arrays.equals(e.get(i).data(), a.get(i).data()), "parameter " + i + " differs");
        }
    }
}
