package dev.toygpt.models;

import dev.toygpt.autograd.F;
import dev.toygpt.autograd.Tensor;
import dev.toygpt.nn.Module;
import dev.toygpt.util.Rng;

/** A model that maps token ids (B, T) to next-token logits (B, T, V). */
public abstract class LanguageModel extends Module {
    private final ModelConfig config;
    /** Draws dropout masks; its state is saved with training checkpoints so a resumed run repeats exactly. */
    protected final Rng dropoutRng = new Rng(0x5EED);

    protected LanguageModel(ModelConfig config) {
        this.config = config.validate();
    }

    public ModelConfig config() {
        return config;
    }

    public Rng dropoutRng() {
        return dropoutRng;
    }

    /** Next-token logits, shape (batch, time, vocab), for ids laid out row-major as (batch, time). */
    public abstract Tensor forward(int[] idx, int batch, int time);

    /** Mean cross-entropy of the logits against the targets. */
    public Tensor loss(Tensor logits, int[] targets) {
        return F.crossEntropy(logits, targets);
    }

    /** How many past tokens the model can look at: block_size for the GPT, 1 for the bigram models. */
    public int contextLength() {
        return 1;
    }

    /** Builds a freshly initialised model of the given configuration. */
    public static LanguageModel create(ModelConfig config, Rng initRng) {
        return switch (config.kind()) {
            case BIGRAM -> new BigramModel(config, initRng);
            case MLP_ONEHOT -> new OneHotMlp(config, initRng);
            case MLP_EMBEDDING -> new EmbeddingMlp(config, initRng);
            case GPT -> new Gpt(config, initRng);
        };
    }
}
