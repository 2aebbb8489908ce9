package dev.toygpt.models;

/**
 * The sizes that define a model. Fields a model does not use are ignored: the bigram needs only the
 * vocabulary; the MLPs use nEmbd (embedding width) and hidden; the GPT uses nEmbd, nHead, nLayer,
 * blockSize and dropout. blockSize is also the length of the training windows for every model.
 */
public record ModelConfig(ModelKind kind, int vocabSize, int nEmbd, int nHead, int nLayer, int blockSize,
                          float dropout, int hidden) {

    public static ModelConfig bigram(int vocabSize, int blockSize) {
        return new ModelConfig(ModelKind.BIGRAM, vocabSize, 0, 0, 0, blockSize, 0f, 0);
    }

    public static ModelConfig mlpOneHot(int vocabSize, int hidden, int blockSize) {
        return new ModelConfig(ModelKind.MLP_ONEHOT, vocabSize, 0, 0, 0, blockSize, 0f, hidden);
    }

    public static ModelConfig mlpEmbedding(int vocabSize, int embedding, int hidden, int blockSize) {
        return new ModelConfig(ModelKind.MLP_EMBEDDING, vocabSize, embedding, 0, 0, blockSize, 0f, hidden);
    }

    public static ModelConfig gpt(int vocabSize, int nEmbd, int nHead, int nLayer, int blockSize, float dropout) {
        return new ModelConfig(ModelKind.GPT, vocabSize, nEmbd, nHead, nLayer, blockSize, dropout, 4 * nEmbd);
    }

    /** Checks the sizes; the message names the command-line option to change. */
    public ModelConfig validate() {
        positive("vocabulary size", vocabSize);
        if (vocabSize < 2) throw new IllegalArgumentException("a language model needs at least 2 distinct characters, got " + vocabSize);
        positive("--block-size", blockSize);
        switch (kind) {
            case BIGRAM -> { }
            case MLP_ONEHOT -> positive("--hidden", hidden);
            case MLP_EMBEDDING -> {
                positive("--n-embd", nEmbd);
                positive("--hidden", hidden);
            }
            case GPT -> {
                positive("--n-embd", nEmbd);
                positive("--n-head", nHead);
                positive("--n-layer", nLayer);
                if (nEmbd % nHead != 0) {
                    throw new IllegalArgumentException("--n-embd (" + nEmbd + ") must be divisible by --n-head (" + nHead
                            + "): each head gets n_embd / n_head channels");
                }
            }
        }
        if (!(dropout >= 0f && dropout < 1f)) {
            throw new IllegalArgumentException("--dropout must be in [0, 1), got " + dropout);
        }
        return this;
    }

    public int headSize() {
        return nEmbd / nHead;
    }

    private static void positive(String what, int value) {
        if (value <= 0) throw new IllegalArgumentException(what + " must be positive, got " + value);
    }
}
