package dev.toygpt.experiments;

import dev.toygpt.models.ModelConfig;
import dev.toygpt.plot.Chart;
import dev.toygpt.plot.LossCurves;
import dev.toygpt.train.Presets;
import dev.toygpt.train.TrainSettings;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.TreeSet;

/**
 * The same GPT after 10, 100, 1,000 and 5,000 steps: its losses and what it writes.
 *
 * <p>One run of 5,000 steps is stopped at each of those counts to be evaluated and sampled. With the
 * constant learning rate of the presets, its weights at step N are exactly those of a separate N-step run
 * (same seed, same batches), so this gives the four runs' results for the price of the longest.
 */
public final class StepsExperiment implements Experiment {
    static final int[] TARGETS = {10, 100, 1000, 5000};
    /** Extra evaluations in between, evenly spaced on the chart's logarithmic axis. */
    private static final int[] CURVE = {20, 50, 200, 500, 2000};
    static final int SAMPLE_CHARS = 200;

    @Override
    public String name() {
        return "steps";
    }

    @Override
    public String summary() {
        return "one GPT after 10, 100, 1,000 and 5,000 steps: losses and samples";
    }

    @Override
    public Report run(ExperimentContext ctx) throws IOException {
        Presets.Preset gpt = ctx.gpt();
        int[] targets = Arrays.stream(TARGETS).map(ctx::steps).distinct().toArray();
        Set<Integer> targetSet = new TreeSet<>();
        for (int t : targets) targetSet.add(t);
        TreeSet<Integer> stopSet = new TreeSet<>(targetSet);
        for (int c : CURVE) stopSet.add(ctx.steps(c));
        int last = targets[targets.length - 1];
        int[] stops = stopSet.stream().mapToInt(Integer::intValue).filter(s -> s <= last).toArray();
        // evaluate only at the stops (and step 0): the interval is the whole run
        TrainSettings settings = ctx.settings(gpt.train(), TARGETS[TARGETS.length - 1], TARGETS[TARGETS.length - 1], 100);
        ModelConfig config = ExperimentContext.forText(gpt.model(), ctx.corpus().vocabulary().size(), gpt.model().blockSize());

        List<String> notes = new ArrayList<>();
        String why = ctx.skipReason();
        ModelRun run = why != null ? null
                : ctx.train("gpt", ctx.corpus(), config, settings, stops, SAMPLE_CHARS, ctx.shareSeconds(1));
        if (run == null) notes.add("not run: " + why);
        else if (!run.complete()) notes.add(run.stopReason() + ": the rows for more steps are missing");

        Set<String> known = Samples.words(ctx.corpus().text());
        TextTable table = new TextTable("steps", "train loss", "val loss", "seconds", "known words");
        List<Report.Sample> samples = new ArrayList<>();
        List<ModelRun.Stage> shown = new ArrayList<>();
        List<String> shares = new ArrayList<>();
        if (run != null) {
            for (ModelRun.Stage s : run.stages()) {
                // the targets, and the step where a time limit stopped the run
                boolean cutShort = !run.complete() && s == run.last();
                if (!targetSet.contains((int) s.step()) && !cutShort) continue;
                OptionalDouble share = Samples.knownWordShare(s.sample(), known);
                String pct = share.isPresent() ? String.format(Locale.ROOT, "%.0f%%", 100 * share.getAsDouble()) : "-";
                table.row(String.format(Locale.ROOT, "%,d", s.step()), loss(s.trainLoss()), loss(s.valLoss()),
                        String.format(Locale.ROOT, "%.1f", s.seconds()), pct);
                if (!s.sample().isEmpty()) samples.add(new Report.Sample(String.format(Locale.ROOT, "after %,d steps", s.step()), s.sample()));
                shown.add(s);
                shares.add(pct);
            }
        }

        List<Path> charts = new ArrayList<>();
        if (run != null && run.curve().stream().anyMatch(r -> r.step() > 0)) {
            Chart chart = LossCurves.chart(String.format(Locale.ROOT, "The %s GPT after 10 to %,d steps", gpt.name(), last),
                    List.of(new LossCurves.Run("gpt", run.curve())), true);
            charts.addAll(ctx.writeChart(chart, name()));
        }

        String intro = String.format(Locale.ROOT, """
                        Experiment steps: the %s GPT (%,d parameters) on %s, after %s steps.
                        One run of %,d steps, evaluated and sampled as it passes each count: with a constant learning rate its
                        weights at step N are exactly those of a separate N-step run, so one run gives all four, faster.
                        Losses in nats per character; known words: the share of the sample's words found in the training text.""",
                gpt.name(), run != null ? run.parameters() : 0, ctx.corpus().name(), list(targets), last);
        return new Report(name(), intro, table, samples, notes, conclusion(shown, shares), charts);
    }

    static String conclusion(List<ModelRun.Stage> shown, List<String> shares) {
        if (shown.size() < 2) {
            return shown.isEmpty() ? "no step count was reached, so there is nothing to compare"
                    : String.format(Locale.ROOT, "only %,d steps were reached: too few to compare", shown.get(0).step());
        }
        ModelRun.Stage first = shown.get(0), end = shown.get(shown.size() - 1);
        String words = shares.get(0).equals("-") || shares.get(shares.size() - 1).equals("-") ? ""
                : String.format(Locale.ROOT, ", and the share of sampled words found in the training text went from %s to %s",
                shares.get(0), shares.get(shares.size() - 1));
        if (end.valLoss() < first.valLoss()) {
            return String.format(Locale.ROOT, "validation loss fell from %.2f after %,d steps to %.2f after %,d steps%s: more training, better predictions",
                    first.valLoss(), first.step(), end.valLoss(), end.step(), words);
        }
        return String.format(Locale.ROOT, "validation loss did not fall: %.2f after %,d steps, %.2f after %,d steps%s",
                first.valLoss(), first.step(), end.valLoss(), end.step(), words);
    }

    static String loss(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    /** "10, 100, 1,000 and 5,000". */
    static String list(int[] values) {
        List<String> parts = new ArrayList<>();
        for (int v : values) parts.add(String.format(Locale.ROOT, "%,d", v));
        if (parts.size() == 1) return parts.get(0);
        return String.join(", ", parts.subList(0, parts.size() - 1)) + " and " + parts.get(parts.size() - 1);
    }
}
