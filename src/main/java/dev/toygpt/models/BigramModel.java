package dev.toygpt.models;

import dev.toygpt.autograd.Tensor;
import dev.toygpt.nn.Embedding;
import dev.toygpt.util.Rng;

/** The simplest language model: row i of a (V, V) table holds the logits of the token after token i. */
public final class BigramModel extends LanguageModel {
    private final Embedding tokenEmbeddingTable;

    public BigramModel(ModelConfig config, Rng rng) {
        super(config);
        int v = config.vocabSize();
        tokenEmbeddingTable = addModule("token_embedding_table", new Embedding(v, v, rng));
    }

    @Override
    public Tensor forward(int[] idx, int batch, int time) {
        return tokenEmbeddingTable.forward(idx, batch, time); // (B, T, V)
    }
}
