package dev.toygpt.train;

import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.optim.LearningRateSchedule;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The learning-rate schedule that fits itself to --time-limit: warm-up, the full rate, then a decay to min_lr as the time runs out. */
class TimeScheduleTest {
    private static final float MAX = 3e-3f, MIN = 3e-4f;

    @TempDir
    Path tmp;

    @Test
    void shapeByTheFractionOfTheTimeSpent() {
        assertEquals(0.1f * MAX, LearningRateSchedule.byTimeFraction(MAX, MIN, 0.05, 0.4, 0), 1e-9f);
        assertEquals(MAX, LearningRateSchedule.byTimeFraction(MAX, MIN, 0.05, 0.4, 0.05), 1e-9f);
        assertEquals(MAX, LearningRateSchedule.byTimeFraction(MAX, MIN, 0.05, 0.4, 0.3), 1e-9f, "held until the decay");
        assertEquals(MAX, LearningRateSchedule.byTimeFraction(MAX, MIN, 0.05, 0.4, 0.6), 1e-9f, "the decay starts at 60%");
        assertEquals((MAX + MIN) / 2, LearningRateSchedule.byTimeFraction(MAX, MIN, 0.05, 0.4, 0.8), 1e-7f, "a straight line");
        assertEquals(MIN + 0.25f * (MAX - MIN), LearningRateSchedule.byTimeFraction(MAX, MIN, 0.05, 0.4, 0.9), 1e-7f);
        assertEquals(MIN, LearningRateSchedule.byTimeFraction(MAX, MIN, 0.05, 0.4, 1), 1e-9f);
        assertEquals(MIN, LearningRateSchedule.byTimeFraction(MAX, MIN, 0.05, 0.4, 1.3), 1e-9f, "past the limit (the last step)");
        // a decay longer than what the warm-up leaves starts right after the warm-up
        assertEquals(MAX, LearningRateSchedule.byTimeFraction(MAX, MIN, 0.05, 1, 0.05), 1e-9f);
        assertEquals((MAX + MIN) / 2, LearningRateSchedule.byTimeFraction(MAX, MIN, 0.05, 1, 0.525), 1e-7f);
        float before = Float.MAX_VALUE;
        for (double f = 0.05; f <= 1; f += 0.01) {
            float lr = LearningRateSchedule.byTimeFraction(MAX, MIN, 0.05, 0.4, f);
            assertTrue(lr <= before, "decays monotonically: " + f);
            before = lr;
        }
    }

    private static TrainSettings timed(double seconds, String schedule) {
        return new TrainSettings(4, 1_000_000, 1_000_000, 2, MAX, "adamw", 0.01f, 0f, schedule, 0, MIN, 7, 0.9, seconds, 1);
    }

    @Test
    void aTimeLimitedRunDecaysItsLearningRateToTheMinimumByTheEnd() throws IOException {
        TrainSettings settings = timed(3.0, TrainSettings.TIME_SCHEDULE);
        ModelConfig config = TinyRuns.gpt(TinyRuns.corpus().vocabulary().size(), 0f);
        LanguageModel model = TinyRuns.model(config, settings);
        List<Float> rates = new ArrayList<>();
        List<Long> evaluated = new ArrayList<>();
        Trainer trainer = TinyRuns.trainer(model, settings, new RunDirectory(tmp.resolve("run")), new Trainer.Listener() {
            @Override
            public void stepped(long step, float loss, float lr, double tokensPerSecond) {
                rates.add(lr);
            }

            @Override
            public void evaluated(long step, double trainLoss, double valLoss, boolean best) {
                evaluated.add(step);
            }
        });
        Trainer.Result r = trainer.run();
        assertTrue(r.stopReason().startsWith("time limit reached"), r.stopReason());
        // the untrained model is not evaluated in a timed run (an untimed run is, see CheckpointTest): only the end
        assertEquals(List.of(r.steps()), evaluated);
        assertEquals(r.steps(), MetricsLog.read(new RunDirectory(tmp.resolve("run")).metricsFile()).get(0).step());
        assertTrue(rates.size() >= 8, rates.size() + " steps"); // a busy machine may manage few
        assertTrue(rates.get(0) < 0.5f * MAX, "starts with a warm-up: " + rates.get(0));
        float peak = rates.stream().max(Float::compare).orElseThrow();
        assertTrue(peak > 0.8f * MAX, "reaches the maximum: " + rates);
        float last = rates.get(rates.size() - 1);
        assertTrue(last < MIN + 0.5f * (MAX - MIN), "ends in the second half of the decay to min_lr: " + last);
        // recorded with the checkpoint, so that --resume keeps the schedule
        RunDirectory run = new RunDirectory(tmp.resolve("run"));
        assertEquals(TrainSettings.TIME_SCHEDULE, Checkpoint.readSettings(run.last()).schedule());
    }

    @Test
    void aResumedRunContinuesTheScheduleWhereTheClockStood() throws IOException {
        TrainSettings settings = timed(3.0, TrainSettings.TIME_SCHEDULE);
        ModelConfig config = TinyRuns.gpt(TinyRuns.corpus().vocabulary().size(), 0f);
        RunDirectory run = new RunDirectory(tmp.resolve("run"));
        List<Float> before = new ArrayList<>(), after = new ArrayList<>();
        Trainer[] first = new Trainer[1];
        first[0] = TinyRuns.trainer(TinyRuns.model(config, settings), settings, run, new Trainer.Listener() {
            @Override
            public void stepped(long step, float loss, float lr, double tokensPerSecond) {
                before.add(lr);
                boolean held = before.stream().anyMatch(x -> x == MAX); // the full rate between warm-up and decay
                if (held && lr < 0.95f * MAX) first[0].requestStop(); // in the decay
            }
        });
        Trainer.Result stopped = first[0].run();
        assertTrue(stopped.stopReason().startsWith("stopped"), stopped.stopReason());

        Trainer second = TinyRuns.trainer(TinyRuns.model(config, settings), settings, run, new Trainer.Listener() {
            @Override
            public void stepped(long step, float loss, float lr, double tokensPerSecond) {
                after.add(lr);
            }
        });
        second.resumeFrom(run.last());
        Trainer.Result r = second.run();
        assertTrue(r.stopReason().startsWith("time limit reached"), r.stopReason());
        assertTrue(after.get(0) <= before.get(before.size() - 1), "no new warm-up after resuming: " + after.get(0) + " after " + before);
        assertTrue(after.get(after.size() - 1) < MIN + 0.5f * (MAX - MIN), "and it still ends near min_lr");
    }

    @Test
    void theTimeScheduleNeedsATimeLimit() {
        var e = assertThrows(IllegalArgumentException.class, () -> timed(0, TrainSettings.TIME_SCHEDULE).validate());
        assertTrue(e.getMessage().contains("--time-limit"), e.getMessage());
    }

    @Test
    void whenMaxItersComesFirstTheDecayEndsThere() throws IOException {
        TrainSettings settings = new TrainSettings(4, 30, 1_000, 2, MAX, "adamw", 0.01f, 0f, TrainSettings.TIME_SCHEDULE, 0, MIN, 7, 0.9, 3600, 1);
        ModelConfig config = TinyRuns.gpt(TinyRuns.corpus().vocabulary().size(), 0f);
        List<Float> rates = new ArrayList<>();
        Trainer.Result r = TinyRuns.trainer(TinyRuns.model(config, settings), settings, new RunDirectory(tmp.resolve("run")), new Trainer.Listener() {
            @Override
            public void stepped(long step, float loss, float lr, double tokensPerSecond) {
                rates.add(lr);
            }
        }).run();
        assertEquals(30, r.steps());
        // an hour's budget, 30 steps: the schedule goes by the steps; the last is at 29/30 of max_iters, near min_lr
        assertEquals(MAX, rates.get(15), 1e-9f, "the full rate until 60% of max_iters: " + rates);
        assertTrue(rates.get(20) < MAX, "then the decay: " + rates);
        assertEquals(LearningRateSchedule.byTimeFraction(MAX, MIN, Trainer.TIME_WARMUP, Trainer.TIME_DECAY, 29 / 30.0), rates.get(29), 2e-5f);
        assertTrue(rates.get(29) < MIN + 0.1f * (MAX - MIN), "ends near min_lr: " + rates);
    }
}
