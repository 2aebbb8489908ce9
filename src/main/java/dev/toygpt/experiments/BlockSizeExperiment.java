package dev.toygpt.experiments;

import dev.toygpt.models.ModelConfig;
import dev.toygpt.plot.Chart;
import dev.toygpt.plot.LossCurves;
import dev.toygpt.train.Presets;
import dev.toygpt.train.TrainSettings;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The same GPT with contexts of 8, 16, 32 and 64 characters, each trained for the same number of steps:
 * how much does seeing further back help to predict the next character?
 */
public final class BlockSizeExperiment implements Experiment {
    static final int[] BLOCK_SIZES = {8, 16, 32, 64};
    static final int STEPS = 1000;

    @Override
    public String name() {
        return "block-size";
    }

    @Override
    public String summary() {
        return "block sizes 8, 16, 32 and 64 at equal steps: final losses";
    }

    @Override
    public Report run(ExperimentContext ctx) throws IOException {
        Presets.Preset gpt = ctx.gpt();
        TrainSettings settings = ctx.settings(gpt.train(), STEPS, STEPS / 4, 50);
        int vocab = ctx.corpus().vocabulary().size();
        var split = ctx.corpus().split(settings.trainFraction());
        // fail before training anything if the longest context does not fit the text
        ExperimentContext.checkLongEnough(ctx.corpus(), split.train().length, split.val().length, BLOCK_SIZES[BLOCK_SIZES.length - 1]);

        List<ModelRun> runs = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (int i = 0; i < BLOCK_SIZES.length; i++) {
            String why = ctx.skipReason();
            if (why != null) {
                notes.add("block size " + BLOCK_SIZES[i] + " not run: " + why);
                continue;
            }
            ModelConfig config = ExperimentContext.forText(gpt.model(), vocab, BLOCK_SIZES[i]);
            ModelRun run = ctx.train("block-" + BLOCK_SIZES[i], ctx.corpus(), config, settings,
                    new int[]{settings.maxIters()}, 0, ctx.shareSeconds(BLOCK_SIZES.length - i));
            if (!run.complete()) notes.add("block size " + BLOCK_SIZES[i] + ": " + run.stopReason());
            if (run.last() != null) runs.add(run);
        }

        TextTable table = new TextTable("block size", "parameters", "steps", "train loss", "val loss", "seconds");
        for (ModelRun r : runs) {
            ModelRun.Stage s = r.last();
            table.row(Integer.toString(r.config().blockSize()), String.format(Locale.ROOT, "%,d", r.parameters()),
                    String.format(Locale.ROOT, "%,d", s.step()), StepsExperiment.loss(s.trainLoss()), StepsExperiment.loss(s.valLoss()),
                    String.format(Locale.ROOT, "%.1f", s.seconds()));
        }
        if (runs.stream().map(ModelRun::steps).distinct().count() > 1) {
            notes.add("the runs reached different step counts, so the comparison is not even");
        }

        List<Path> charts = new ArrayList<>();
        if (!runs.isEmpty()) {
            // final losses against log2(block size), so that 8, 16, 32 and 64 are evenly spaced; ticks say the block size
            Chart summary = new Chart(String.format(Locale.ROOT, "Loss after %,d steps by block size", settings.maxIters()),
                    "block size (characters of context)", LossCurves.Y_AXIS).xTickLabels(BlockSizeExperiment::powerOfTwo);
            double[] blocks = runs.stream().mapToDouble(r -> Math.log(r.config().blockSize()) / Math.log(2)).toArray();
            summary.line("train", blocks, runs.stream().mapToDouble(r -> r.last().trainLoss()).toArray(), Chart.color(0), Chart.Stroke.DASHED);
            summary.line("validation", blocks, runs.stream().mapToDouble(r -> r.last().valLoss()).toArray(), Chart.color(1), Chart.Stroke.SOLID);
            charts.addAll(ctx.writeChart(summary, name()));
            List<LossCurves.Run> curves = runs.stream().map(r -> new LossCurves.Run("block " + r.config().blockSize(), r.curve())).toList();
            charts.addAll(ctx.writeChart(LossCurves.validationChart("Validation loss by block size", curves), "curves"));
        }

        String intro = String.format(Locale.ROOT, """
                        Experiment block-size: the %s GPT on %s with block sizes %s, %,d steps each (batch %d).
                        The block size is how many characters the model sees when it predicts the next one.""",
                gpt.name(), ctx.corpus().name(), StepsExperiment.list(BLOCK_SIZES), settings.maxIters(), settings.batchSize());
        return new Report(name(), intro, table, List.of(), notes, conclusion(runs), charts);
    }

    /** 2^x for whole x ("8" for 3), blank between them. */
    private static String powerOfTwo(double x) {
        long whole = Math.round(x);
        return Math.abs(x - whole) < 1e-6 && whole >= 0 && whole < 31 ? Long.toString(1L << whole) : " ";
    }

    static String conclusion(List<ModelRun> runs) {
        if (runs.size() < 2) return "fewer than two block sizes were trained: nothing to compare";
        ModelRun first = runs.get(0), last = runs.get(runs.size() - 1);
        ModelRun best = runs.stream().min(Comparator.comparingDouble(r -> r.last().valLoss())).orElseThrow();
        String range = String.format(Locale.ROOT, "validation loss went from %.2f with block size %d to %.2f with block size %d",
                first.last().valLoss(), first.config().blockSize(), last.last().valLoss(), last.config().blockSize());
        if (best == last) return range + ": the more characters of context, the better the model predicts the next one";
        if (best == first) return range + ": the shortest context did best here (longer ones need more training to pay off)";
        return range + String.format(Locale.ROOT, ", lowest (%.2f) with block size %d: at this number of steps, more context helped up to %d characters",
                best.last().valLoss(), best.config().blockSize(), best.config().blockSize());
    }
}
