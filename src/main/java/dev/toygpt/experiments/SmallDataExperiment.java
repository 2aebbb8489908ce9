package dev.toygpt.experiments;

import dev.toygpt.models.ModelConfig;
import dev.toygpt.plot.Chart;
import dev.toygpt.plot.LossCurves;
import dev.toygpt.text.Corpus;
import dev.toygpt.train.MetricsLog;
import dev.toygpt.train.Presets;
import dev.toygpt.train.TrainSettings;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The GPT on a few thousand characters: it learns the training text by heart, and its validation loss,
 * after falling for a while, rises again. Overfitting, seen in the two curves drifting apart.
 */
public final class SmallDataExperiment implements Experiment {
    public static final int DEFAULT_CHARS = 5000;
    static final int STEPS = 1500;
    static final int EVAL_INTERVAL = 100;
    /** A table longer than this shows every other evaluation (and always the lowest and the last). */
    private static final int MAX_ROWS = 20;

    @Override
    public String name() {
        return "small-data";
    }

    @Override
    public String summary() {
        return "a GPT on a few thousand characters: training and validation loss drift apart (overfitting)";
    }

    @Override
    public Report run(ExperimentContext ctx) throws IOException {
        Corpus text = firstChars(ctx.corpus(), ctx.setup().smallDataChars());
        Presets.Preset gpt = ctx.gpt();
        TrainSettings settings = ctx.settings(gpt.train(), STEPS, EVAL_INTERVAL, 20);
        ModelConfig config = ExperimentContext.forText(gpt.model(), text.vocabulary().size(), gpt.model().blockSize());
        var split = text.split(settings.trainFraction());
        ExperimentContext.checkLongEnough(text, split.train().length, split.val().length, config.blockSize());

        List<String> notes = new ArrayList<>();
        String why = ctx.skipReason();
        ModelRun run = why != null ? null
                : ctx.train("gpt", text, config, settings, new int[]{settings.maxIters()}, 0, ctx.shareSeconds(1));
        if (run == null) notes.add("not run: " + why);
        else if (!run.complete()) notes.add(run.stopReason());

        List<MetricsLog.Row> rows = run == null ? List.of() : run.curve();
        TextTable table = new TextTable("step", "train loss", "val loss", "val - train");
        MetricsLog.Row lowest = rows.stream().min(Comparator.comparingDouble(MetricsLog.Row::valLoss)).orElse(null);
        for (int i = 0; i < rows.size(); i++) {
            MetricsLog.Row r = rows.get(i);
            boolean keep = rows.size() <= MAX_ROWS || i % 2 == 0 || r == lowest || i == rows.size() - 1;
            if (!keep) continue;
            table.row(String.format(Locale.ROOT, "%,d", r.step()), StepsExperiment.loss(r.trainLoss()),
                    StepsExperiment.loss(r.valLoss()), String.format(Locale.ROOT, "%.3f", r.valLoss() - r.trainLoss()));
        }

        List<Path> charts = new ArrayList<>();
        if (!rows.isEmpty()) {
            Chart chart = LossCurves.chart(String.format(Locale.ROOT, "Overfitting: a %,d-parameter GPT on %,d characters",
                    run.parameters(), text.length()), List.of(new LossCurves.Run("gpt", rows)), false);
            if (lowest != null && lowest.step() > 0) chart.verticalLine(lowest.step(), "lowest validation loss"); // where validation loss was lowest
            charts.addAll(ctx.writeChart(chart, name()));
        }

        String intro = String.format(Locale.ROOT, """
                        Experiment small-data: the %s GPT (%,d parameters) on %,d characters of %s
                        (%,d to train on, %,d to validate), %,d steps.
                        A model this large can learn so little text by heart: watch the validation loss.""",
                gpt.name(), run != null ? run.parameters() : 0, text.length(), ctx.corpus().name(), split.train().length,
                split.val().length, settings.maxIters());
        return new Report(name(), intro, table, List.of(), notes, conclusion(rows, split.train().length), charts);
    }

    /** The first n characters (code points) of a text, or all of it if it is shorter. */
    static Corpus firstChars(Corpus corpus, int n) {
        String text = corpus.text();
        if (text.codePointCount(0, text.length()) <= n) return corpus;
        String head = text.substring(0, text.offsetByCodePoints(0, n));
        return Corpus.of(String.format(Locale.ROOT, "the first %,d characters of %s", n, corpus.name()), head);
    }

    static String conclusion(List<MetricsLog.Row> rows, int trainChars) {
        if (rows.size() < 2) return "too few evaluations to see a trend";
        MetricsLog.Row lowest = rows.stream().min(Comparator.comparingDouble(MetricsLog.Row::valLoss)).orElseThrow();
        MetricsLog.Row end = rows.get(rows.size() - 1);
        double gap = end.valLoss() - end.trainLoss();
        if (end.valLoss() > lowest.valLoss() + 0.05 && gap > 0) {
            return String.format(Locale.ROOT, "overfitting: training loss fell to %.2f while validation loss, lowest (%.2f) at step %,d,"
                            + " rose to %.2f by step %,d: the model memorises its %,d training characters instead of learning what carries over to new text",
                    end.trainLoss(), lowest.valLoss(), lowest.step(), end.valLoss(), end.step(), trainChars);
        }
        if (gap > 0.1) {
            return String.format(Locale.ROOT, "training loss (%.2f) is below validation loss (%.2f) at step %,d: the model fits its"
                    + " training text better than new text, though validation loss has not risen yet", end.trainLoss(), end.valLoss(), end.step());
        }
        return String.format(Locale.ROOT, "no overfitting yet: at step %,d training loss is %.2f and validation loss %.2f",
                end.step(), end.trainLoss(), end.valLoss());
    }
}
