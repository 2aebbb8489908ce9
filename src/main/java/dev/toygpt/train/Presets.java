package dev.toygpt.train;

import dev.toygpt.models.ModelConfig;
import dev.toygpt.models.ModelKind;

import java.util.List;

/**
 * Starting points that train well on Tiny Shakespeare. Every value can be overridden on the command line.
 * The GPT presets come from the course: {@code seed} is the notebook's small GPT, {@code baby} nanoGPT's
 * "I only have a laptop" run, {@code lecture} the lecture's 10.8M-parameter model.
 */
public final class Presets {
    private Presets() {}

    /** Model sizes and training settings together; vocabSize is filled in from the corpus. */
    public record Preset(String name, ModelConfig model, TrainSettings train) {}

    public static final List<String> GPT_PRESETS = List.of("seed", "baby", "lecture");

    public static Preset gpt(String name) {
        return switch (name) {
            case "seed" -> new Preset(name, ModelConfig.gpt(0, 64, 4, 4, 32, 0f), settings(16, 5000, 500, 200, 1e-3f, "adamw", 2));
            // 3e-3 (min_lr 3e-4): in 700 steps with the decay --time-limit brings, validation 1.95 against 1.99 at 2e-3
            // and 2.02 at a constant 1e-3 (the course's rate), so a one-minute run gets much further; with the time schedule
            // that holds the rate until 60% (1,400 steps) 3e-3 gave 1.755, 4e-3 1.766, and min_lr 0 no better
            case "baby" -> new Preset(name, ModelConfig.gpt(0, 128, 4, 4, 64, 0f), settings(12, 2000, 250, 200, 3e-3f, "adamw", 2));
            case "lecture" -> new Preset(name, ModelConfig.gpt(0, 384, 6, 6, 256, 0.2f), settings(64, 5000, 500, 200, 3e-4f, "adamw", 2));
            default -> throw new IllegalArgumentException("unknown preset '" + name + "'; choose one of " + String.join(", ", GPT_PRESETS));
        };
    }

    /** The default for each model: the GPT's is the seed preset; the small models train in seconds. */
    public static Preset defaults(ModelKind kind) {
        return switch (kind) {
            // The lecture's bigram settings, with more steps: AdamW at 1e-2, batch 32 of 8 characters.
            case BIGRAM -> new Preset("bigram", ModelConfig.bigram(0, 8), settings(32, 5000, 500, 200, 1e-2f, "adamw", 1));
            // The notebook trains the MLPs with SGD at 0.01 (--optimizer sgd --lr 0.01); AdamW gets there faster.
            case MLP_ONEHOT -> new Preset("mlp-onehot", ModelConfig.mlpOneHot(0, 8, 8), settings(64, 5000, 500, 200, 1e-2f, "adamw", 1));
            case MLP_EMBEDDING -> new Preset("mlp-embedding", ModelConfig.mlpEmbedding(0, 5, 8, 8), settings(64, 5000, 500, 200, 1e-2f, "adamw", 1));
            case GPT -> gpt("seed");
        };
    }

    private static TrainSettings settings(int batch, int iters, int evalInterval, int evalIters, float lr, String optimizer,
                                          int microBatches) {
        return new TrainSettings(batch, iters, evalInterval, evalIters, lr, optimizer, 0.01f, 0f, "constant", 0, lr / 10,
                1337, 0.9, 0, microBatches);
    }
}
