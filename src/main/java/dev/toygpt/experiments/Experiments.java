package dev.toygpt.experiments;

import java.util.List;
import java.util.stream.Collectors;

/** The experiments by name. */
public final class Experiments {
    private Experiments() {}

    public static List<Experiment> all() {
        return List.of(new StepsExperiment(), new BlockSizeExperiment(), new SmallDataExperiment(), new ModelsExperiment());
    }

    public static List<String> names() {
        return all().stream().map(Experiment::name).toList();
    }

    /** The experiment called name (case and '_' for '-' tolerated). */
    public static Experiment byName(String name) {
        String n = name.trim().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        for (Experiment e : all()) if (e.name().equals(n)) return e;
        throw new IllegalArgumentException("unknown experiment '" + name + "'; choose one of "
                + all().stream().map(Experiment::name).collect(Collectors.joining(", ")));
    }
}
