package dev.toygpt.experiments;

import dev.toygpt.io.SafeTensors;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.text.Corpus;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.MetricsLog;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.TinyRuns;
import dev.toygpt.train.TrainSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The experiments' building blocks: staged training, conclusions drawn from numbers, tables, samples. */
class ExperimentsTest {
    @TempDir
    Path tmp;

    private ExperimentContext context(Corpus corpus, Path out, ByteArrayOutputStream log) {
        return new ExperimentContext(new ExperimentContext.Setup(corpus, out, "seed", 0, 5000, 1, true),
                new PrintStream(log, true, StandardCharsets.UTF_8));
    }

    @Test
    void stoppingAndContinuingGivesTheWeightsOfOneUninterruptedRun() throws Exception {
        Corpus corpus = TinyRuns.corpus();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        ExperimentContext ctx = context(corpus, tmp, log);
        ModelConfig config = ExperimentContext.forText(ctx.gpt().model(), corpus.vocabulary().size(), 8);
        TrainSettings settings = ctx.settings(ctx.gpt().train(), 40, 40, 4);

        ModelRun staged = ctx.train("staged", corpus, config, settings, new int[]{5, 17, 40}, 30, 0);
        ModelRun straight = ctx.train("straight", corpus, config, settings, new int[]{40}, 30, 0);

        assertEquals(List.of(5L, 17L, 40L), staged.stages().stream().map(ModelRun.Stage::step).toList());
        assertTrue(staged.complete() && straight.complete());
        var a = SafeTensors.read(new RunDirectory(staged.directory()).last().resolve(Checkpoint.MODEL_FILE)).tensors();
        var b = SafeTensors.read(new RunDirectory(straight.directory()).last().resolve(Checkpoint.MODEL_FILE)).tensors();
        assertEquals(a.keySet(), b.keySet());
        for (String name : a.keySet()) assertArrayEquals(b.get(name).floats(), a.get(name).floats(), name);
        // and the sample after 40 steps is the same text (same weights, same seed)
        assertEquals(straight.last().sample(), staged.last().sample());
        assertEquals(30, staged.last().sample().codePointCount(0, staged.last().sample().length()));
        // the curve has every evaluation: step 0 and each stop
        assertEquals(List.of(0L, 5L, 17L, 40L), staged.curve().stream().map(MetricsLog.Row::step).toList());
        String progress = log.toString(StandardCharsets.UTF_8);
        assertTrue(progress.contains("[staged] step 17/40: train loss"), progress);
    }

    @Test
    void aTimeLimitStopsARunAtTheStepItReached() throws Exception {
        Corpus corpus = TinyRuns.corpus();
        ExperimentContext ctx = context(corpus, tmp, new ByteArrayOutputStream());
        ModelConfig config = ExperimentContext.forText(ctx.gpt().model(), corpus.vocabulary().size(), 8);
        TrainSettings settings = ctx.settings(ctx.gpt().train(), 1_000_000, 1_000_000, 2);
        ModelRun run = ctx.train("limited", corpus, config, settings, new int[]{10, 1_000_000}, 0, 3);
        assertFalse(run.complete());
        assertTrue(run.stopReason().startsWith("time limit reached"), run.stopReason());
        assertTrue(run.steps() > 10 && run.steps() < 1_000_000, "reached " + run.steps());
        assertEquals(2, run.stages().size(), "the stop at 10 and where the time ran out");
    }

    @Test
    void theTimeBudgetIsSharedAmongTheRunsLeft() {
        ExperimentContext unlimited = context(TinyRuns.corpus(), tmp, new ByteArrayOutputStream());
        assertEquals(0, unlimited.shareSeconds(3));
        assertEquals(null, unlimited.skipReason());
        ExperimentContext limited = new ExperimentContext(new ExperimentContext.Setup(TinyRuns.corpus(), tmp, "seed", 60, 5000, 1, false),
                new PrintStream(new ByteArrayOutputStream()));
        double share = limited.shareSeconds(4);
        assertTrue(share > 14 && share <= 15, "a quarter of a minute, got " + share);
        limited.requestStop();
        assertEquals("stopped (Ctrl-C)", limited.skipReason());
    }

    @Test
    void stepsConclusionFollowsTheNumbers() {
        List<ModelRun.Stage> falling = List.of(stage(10, 4.0, 4.1), stage(100, 3.0, 3.1), stage(1000, 2.2, 2.3), stage(5000, 1.8, 1.9));
        String c = StepsExperiment.conclusion(falling, List.of("0%", "5%", "30%", "60%"));
        assertEquals("validation loss fell from 4.10 after 10 steps to 1.90 after 5,000 steps, and the share of sampled words"
                + " found in the training text went from 0% to 60%: more training, better predictions", c);
        String rising = StepsExperiment.conclusion(List.of(stage(10, 2, 2), stage(100, 2.5, 2.6)), List.of("-", "-"));
        assertTrue(rising.startsWith("validation loss did not fall: 2.00 after 10 steps, 2.60 after 100 steps"), rising);
        assertTrue(StepsExperiment.conclusion(List.of(stage(10, 4, 4)), List.of("0%")).contains("too few"));
    }

    @Test
    void smallDataConclusionSeesOverfittingOnlyWhenValidationLossRises() {
        List<MetricsLog.Row> overfit = List.of(row(0, 4.2, 4.2), row(100, 2.5, 2.6), row(200, 1.9, 2.3), row(300, 1.0, 2.8));
        String c = SmallDataExperiment.conclusion(overfit, 4500);
        assertTrue(c.startsWith("overfitting: training loss fell to 1.00 while validation loss, lowest (2.30) at step 200, rose to 2.80 by step 300"), c);
        String apart = SmallDataExperiment.conclusion(List.of(row(0, 4, 4), row(100, 2.0, 2.3)), 4500);
        assertTrue(apart.startsWith("training loss (2.00) is below validation loss (2.30)"), apart);
        String none = SmallDataExperiment.conclusion(List.of(row(0, 4, 4), row(100, 2.5, 2.52)), 4500);
        assertTrue(none.startsWith("no overfitting yet"), none);
    }

    @Test
    void blockSizeAndModelsConclusionsNameTheBest() {
        List<ModelRun> blocks = new ArrayList<>();
        double[] val = {2.3, 2.1, 2.0, 1.9};
        int[] sizes = {8, 16, 32, 64};
        for (int i = 0; i < 4; i++) {
            blocks.add(run("block-" + sizes[i], ModelConfig.gpt(65, 16, 2, 1, sizes[i], 0f), 1000 + i, val[i]));
        }
        assertEquals("validation loss went from 2.30 with block size 8 to 1.90 with block size 64: the more characters of context,"
                + " the better the model predicts the next one", BlockSizeExperiment.conclusion(blocks));

        List<ModelRun> models = List.of(run("bigram", ModelConfig.bigram(65, 8), 4225, 2.49),
                run("mlp-onehot", ModelConfig.mlpOneHot(65, 8, 8), 1113, 2.52), run("gpt", ModelConfig.gpt(65, 64, 4, 4, 32, 0f), 209_729, 1.82));
        String c = ModelsExperiment.conclusion(models);
        assertTrue(c.startsWith("the GPT predicts best, validation loss 1.82 against 2.49 for the bigram and 2.52 for the one-hot MLP;"
                + " it has 188 times the parameters of the one-hot MLP (209,729 against 1,113)"), c);
    }

    @Test
    void tablesAlignNumbersRightAndTextLeft() {
        TextTable t = new TextTable("model", "val loss", "known words").row("bigram", "2.490", "12%").row("gpt", "1.820", "-");
        assertEquals("""
                model   val loss  known words
                ------  --------  -----------
                bigram     2.490          12%
                gpt        1.820            -
                """, t.render());
        assertThrows(IllegalArgumentException.class, () -> t.row("too", "few"));
    }

    @Test
    void knownWordsCountAccentedWordsAndIgnoreEmoji() {
        Set<String> known = Samples.words("L'été est là, garçon! 😀 Très bien.");
        assertTrue(known.containsAll(Set.of("été", "est", "là", "garçon", "très", "bien")), known.toString());
        assertFalse(known.contains("l"), "single letters are not words");
        assertEquals(0.5, Samples.knownWordShare("ÉTÉ xyzzy", known).getAsDouble(), 1e-12);
        assertTrue(Samples.knownWordShare("😀 . !", known).isEmpty());
    }

    @Test
    void smallDataKeepsTheFirstCharactersNotTheFirstJavaChars() {
        Corpus corpus = Corpus.of("emoji", "😀😀😀abcdef");
        Corpus head = SmallDataExperiment.firstChars(corpus, 4);
        assertEquals("😀😀😀a", head.text());
        assertEquals(4, head.length());
        assertTrue(head.name().contains("first 4 characters of emoji"), head.name());
        assertEquals(corpus, SmallDataExperiment.firstChars(corpus, 100));
    }

    @Test
    void experimentsAreFoundByName() {
        assertEquals(List.of("steps", "block-size", "small-data", "models"), Experiments.names());
        assertEquals("block-size", Experiments.byName("Block_Size").name());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Experiments.byName("sizes"));
        assertTrue(e.getMessage().contains("choose one of steps, block-size, small-data, models"), e.getMessage());
    }

    private static ModelRun.Stage stage(long step, double train, double val) {
        return new ModelRun.Stage(step, train, val, step / 100.0, "");
    }

    private static MetricsLog.Row row(long step, double train, double val) {
        return new MetricsLog.Row(step, train, val, 1e-3, step / 10.0);
    }

    private static ModelRun run(String name, ModelConfig config, long parameters, double val) {
        return new ModelRun(name, config, parameters, List.of(new ModelRun.Stage(1000, val - 0.05, val, parameters / 1000.0, "")),
                List.of(), parameters / 1000.0, true, "finished", Path.of(name));
    }
}
