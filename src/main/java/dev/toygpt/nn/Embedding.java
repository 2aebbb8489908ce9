package dev.toygpt.nn;

import dev.toygpt.autograd.F;
import dev.toygpt.autograd.Tensor;
import dev.toygpt.util.Rng;

/** A lookup table: token id i gets row i of a (num_embeddings, embedding_dim) weight. */
public final class Embedding extends Module {
    public final Tensor weight;

    public Embedding(int numEmbeddings, int embeddingDim, Rng rng) {
        weight = addParameter("weight", Tensor.parameter(Init.normal(numEmbeddings * embeddingDim, 1.0, rng), numEmbeddings, embeddingDim));
    }

    /** ids laid out as leadingShape; the result is leadingShape + [embedding_dim]. */
    public Tensor forward(int[] ids, int... leadingShape) {
        return F.embedding(weight, ids, leadingShape);
    }
}
