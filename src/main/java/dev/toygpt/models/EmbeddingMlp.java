package dev.toygpt.models;

import dev.toygpt.autograd.F;
import dev.toygpt.autograd.Tensor;
import dev.toygpt.nn.Embedding;
import dev.toygpt.nn.Linear;
import dev.toygpt.util.Rng;

/** Like the one-hot MLP, but the token first becomes a small learned vector: Embedding(V, n_embd). */
public final class EmbeddingMlp extends LanguageModel {
    private final Embedding tokenEmbedding;
    private final Linear fc1;
    private final Linear fc2;

    public EmbeddingMlp(ModelConfig config, Rng rng) {
        super(config);
        int v = config.vocabSize();
        tokenEmbedding = addModule("token_embedding", new Embedding(v, config.nEmbd(), rng));
        fc1 = addModule("fc1", new Linear(config.nEmbd(), config.hidden(), true, rng));
        fc2 = addModule("fc2", new Linear(config.hidden(), v, true, rng));
    }

    @Override
    public Tensor forward(int[] idx, int batch, int time) {
        Tensor x = tokenEmbedding.forward(idx, batch, time);
        Tensor h = F.leakyRelu(fc1.forward(x), 0.01f);
        return fc2.forward(h);
    }
}
