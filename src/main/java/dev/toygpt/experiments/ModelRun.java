package dev.toygpt.experiments;

import dev.toygpt.models.ModelConfig;
import dev.toygpt.train.MetricsLog;

import java.nio.file.Path;
import java.util.List;

/**
 * One model trained by an experiment.
 *
 * @param stages     the losses (and a sample) at each step count the run was asked to stop at and reached,
 *                   plus the step where a time limit or Ctrl-C stopped it
 * @param curve      every evaluation, from the run's metrics.csv
 * @param seconds    wall-clock training time, evaluations included
 * @param complete   true when the run reached its last planned step
 */
public record ModelRun(String name, ModelConfig config, long parameters, List<Stage> stages, List<MetricsLog.Row> curve,
                       double seconds, boolean complete, String stopReason, Path directory) {

    /** The state of the run at one step: estimated losses, training time so far, and a sample (or ""). */
    public record Stage(long step, double trainLoss, double valLoss, double seconds, String sample) {}

    public ModelRun {
        stages = List.copyOf(stages);
        curve = List.copyOf(curve);
    }

    /** The last stage reached, or null if the run never got past step 0. */
    public Stage last() {
        return stages.isEmpty() ? null : stages.get(stages.size() - 1);
    }

    public long steps() {
        Stage l = last();
        return l == null ? 0 : l.step();
    }
}
