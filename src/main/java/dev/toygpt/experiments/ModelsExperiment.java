package dev.toygpt.experiments;

import dev.toygpt.models.ModelConfig;
import dev.toygpt.models.ModelKind;
import dev.toygpt.plot.LossCurves;
import dev.toygpt.train.Presets;
import dev.toygpt.train.TrainSettings;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.Set;

/** The course's four models on the same text: how well each predicts, how big it is, how long it trains. */
public final class ModelsExperiment implements Experiment {
    /** The GPT's steps: enough to leave the small models clearly behind in a couple of minutes. */
    static final int GPT_STEPS = 3000;
    static final int SAMPLE_CHARS = 200;

    @Override
    public String name() {
        return "models";
    }

    @Override
    public String summary() {
        return "bigram, one-hot MLP, embedding MLP and GPT on the same text";
    }

    @Override
    public Report run(ExperimentContext ctx) throws IOException {
        int vocab = ctx.corpus().vocabulary().size();
        List<ModelKind> kinds = List.of(ModelKind.BIGRAM, ModelKind.MLP_ONEHOT, ModelKind.MLP_EMBEDDING, ModelKind.GPT);
        List<ModelRun> runs = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (int i = 0; i < kinds.size(); i++) {
            ModelKind kind = kinds.get(i);
            String why = ctx.skipReason();
            if (why != null) {
                notes.add(kind.cliName() + " not run: " + why);
                continue;
            }
            Presets.Preset preset = kind == ModelKind.GPT ? ctx.gpt() : Presets.defaults(kind);
            TrainSettings base = preset.train();
            int steps = kind == ModelKind.GPT ? GPT_STEPS : base.maxIters();
            int interval = kind == ModelKind.GPT ? GPT_STEPS / 6 : base.evalInterval();
            TrainSettings settings = ctx.settings(base, steps, interval, Math.min(base.evalIters(), 100));
            ModelConfig config = ExperimentContext.forText(preset.model(), vocab, preset.model().blockSize());
            ModelRun run = ctx.train(kind.cliName(), ctx.corpus(), config, settings, new int[]{settings.maxIters()}, SAMPLE_CHARS,
                    ctx.shareSeconds(kinds.size() - i));
            if (!run.complete()) notes.add(kind.cliName() + ": " + run.stopReason());
            if (run.last() != null) runs.add(run);
        }

        Set<String> known = Samples.words(ctx.corpus().text());
        TextTable table = new TextTable("model", "parameters", "steps", "train loss", "val loss", "seconds", "known words");
        List<Report.Sample> samples = new ArrayList<>();
        for (ModelRun r : runs) {
            ModelRun.Stage s = r.last();
            OptionalDouble share = Samples.knownWordShare(s.sample(), known);
            table.row(r.name(), String.format(Locale.ROOT, "%,d", r.parameters()), String.format(Locale.ROOT, "%,d", s.step()),
                    StepsExperiment.loss(s.trainLoss()), StepsExperiment.loss(s.valLoss()), String.format(Locale.ROOT, "%.1f", s.seconds()),
                    share.isPresent() ? String.format(Locale.ROOT, "%.0f%%", 100 * share.getAsDouble()) : "-");
            if (!s.sample().isEmpty()) samples.add(new Report.Sample(r.name(), s.sample()));
        }

        List<Path> charts = new ArrayList<>();
        if (!runs.isEmpty()) {
            List<LossCurves.Run> curves = runs.stream().map(r -> new LossCurves.Run(displayName(r.name()), r.curve())).toList();
            charts.addAll(ctx.writeChart(LossCurves.validationChart("The four models on the same text", curves), name()));
        }
        String intro = String.format(Locale.ROOT, """
                        Experiment models: the course's four models on %s, each with its default settings
                        (the GPT is the %s preset, %,d steps). The bigram, one-hot MLP and embedding MLP see one character;
                        the GPT sees up to %d. Known words: the share of the sample's words found in the training text.""",
                ctx.corpus().name(), ctx.gpt().name(), ctx.steps(GPT_STEPS), ctx.gpt().model().blockSize());
        return new Report(name(), intro, table, samples, notes, conclusion(runs), charts);
    }

    static String conclusion(List<ModelRun> runs) {
        if (runs.size() < 2) return "fewer than two models were trained: nothing to compare";
        List<ModelRun> byLoss = new ArrayList<>(runs);
        byLoss.sort(Comparator.comparingDouble(r -> r.last().valLoss()));
        ModelRun best = byLoss.get(0);
        List<String> others = new ArrayList<>();
        for (ModelRun r : byLoss.subList(1, byLoss.size())) {
            others.add(String.format(Locale.ROOT, "%.2f for the %s", r.last().valLoss(), displayName(r.name())));
        }
        ModelRun smallest = runs.stream().min(Comparator.comparingLong(ModelRun::parameters)).orElseThrow();
        String size;
        if (best == smallest) {
            size = "it is also the smallest model";
        } else {
            double time = best.seconds() / Math.max(1e-9, smallest.seconds());
            String timePart = time >= 1.5 ? String.format(Locale.ROOT, "%s the training time", times(time))
                    : time <= 0.67 ? String.format(Locale.ROOT, "%.0f%% of the training time", 100 * time) : "about the same training time";
            size = String.format(Locale.ROOT, "it has %s the parameters of the %s (%,d against %,d) and took %s",
                    times(best.parameters() / (double) smallest.parameters()), displayName(smallest.name()), best.parameters(),
                    smallest.parameters(), timePart);
        }
        return String.format(Locale.ROOT, "the %s predicts best, validation loss %.2f against %s; %s",
                displayName(best.name()), best.last().valLoss(), joinAnd(others), size);
    }

    /** "3.4 times" or "60 times". */
    private static String times(double ratio) {
        return ratio < 10 ? String.format(Locale.ROOT, "%.1f times", ratio) : String.format(Locale.ROOT, "%,.0f times", ratio);
    }

    /** How the course calls each model (the run directories use the command-line names). */
    static String displayName(String cliName) {
        return switch (cliName) {
            case "mlp-onehot" -> "one-hot MLP";
            case "mlp-embedding" -> "embedding MLP";
            case "gpt" -> "GPT";
            default -> cliName;
        };
    }

    private static String joinAnd(List<String> parts) {
        if (parts.size() == 1) return parts.get(0);
        return String.join(", ", parts.subList(0, parts.size() - 1)) + " and " + parts.get(parts.size() - 1);
    }
}
