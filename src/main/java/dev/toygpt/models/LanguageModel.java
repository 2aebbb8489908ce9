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

    /**
     * A copy of a trained model for a vocabulary that keeps the old ids and appends new characters (fine-tuning
     * with --extend-vocab): a fresh model of config is built from initRng, then every trained value is copied in.
     * The tables indexed by token (the embedding's rows, the head's rows and bias, the one-hot MLP's input
     * columns, both sides of the bigram table) are larger: the trained values fill the old ids' part and the new
     * characters' part keeps its fresh initialisation, as if those rows had just been created.
     */
    public static LanguageModel extendedCopy(LanguageModel trained, ModelConfig config, Rng initRng) {
        LanguageModel model = create(config, initRng);
        var to = model.stateDict().entries();
        trained.stateDict().entries().forEach((name, old) -> {
            var fresh = to.get(name);
            if (fresh == null || fresh.shape().length != old.shape().length) {
                throw new IllegalArgumentException("cannot extend " + name + ": the models differ in more than the vocabulary");
            }
            int[] os = old.shape(), ns = fresh.shape();
            int rows = os[0], cols = os.length == 2 ? os[1] : 1, newCols = ns.length == 2 ? ns[1] : 1;
            if (rows > ns[0] || cols > newCols) throw new IllegalArgumentException("cannot extend " + name + ": the new model is smaller");
            float[] src = old.read(), dst = fresh.read();
            for (int r = 0; r < rows; r++) System.arraycopy(src, r * cols, dst, r * newCols, cols);
            fresh.write(dst);
        });
        return model;
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
