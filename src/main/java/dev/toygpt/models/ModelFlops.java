package dev.toygpt.models;

/**
 * Floating-point operations of the matrix work in one training step (and in a generated token), to report
 * achieved GFLOP/s:
 * every linear layer costs 2·in·out per token forward, attention 4·T·C per token per layer forward
 * (q kᵀ and the weighted sum of v, counted over the full T x T square), and backward costs twice the forward.
 */
public final class ModelFlops {
    private ModelFlops() {}

    public static double perTrainingStep(ModelConfig c, int batchSize) {
        return 3 * forward(c, batchSize, c.blockSize());
    }

    /**
     * Model FLOPs per trained token as nanoGPT counts them for its MFU: 6 N + 12 L C T, where N is the
     * parameter count without the position embeddings (a lookup, no arithmetic) and 12 L C T the attention
     * scores and weighted sums, forward and backward. Comparable with any engine's tokens per second.
     */
    public static double perTokenNanoGpt(ModelConfig c, long parameters) {
        if (c.kind() != ModelKind.GPT) return 6.0 * parameters;
        long nonPosition = parameters - (long) c.blockSize() * c.nEmbd();
        return 6.0 * nonPosition + 12.0 * c.nLayer() * c.nEmbd() * c.blockSize();
    }

    /**
     * Model FLOPs per generated token, counted as {@link #perTokenNanoGpt} counts a trained one but forward
     * only: 2 N, plus the attention's scores and weighted sum, 4 L C per position seen. A {@link GptDecoder}
     * sees from block/2 to block positions (3/4 block on average); the notebook's loop (cached false) the
     * last block. The loop's recomputing of the whole window is work, not model FLOPs, so it is not counted.
     */
    public static double perGeneratedToken(ModelConfig c, long parameters, boolean cached) {
        if (c.kind() != ModelKind.GPT) return 2.0 * parameters;
        long nonPosition = parameters - (long) c.blockSize() * c.nEmbd();
        double seen = cached ? 0.75 * c.blockSize() : c.blockSize();
        return 2.0 * nonPosition + 4.0 * c.nLayer() * c.nEmbd() * seen;
    }

    public static double forward(ModelConfig c, int batch, int time) {
        double tokens = (double) batch * time;
        long v = c.vocabSize();
        return switch (c.kind()) {
            case BIGRAM -> 0;
            case MLP_ONEHOT -> tokens * 2 * (v * c.hidden() + c.hidden() * v);
            case MLP_EMBEDDING -> tokens * 2 * ((long) c.nEmbd() * c.hidden() + c.hidden() * v);
            case GPT -> {
                long ch = c.nEmbd();
                double perLayer = 2.0 * (4 * ch * ch + 2 * ch * c.hidden()) + 4.0 * time * ch;
                yield tokens * (c.nLayer() * perLayer + 2.0 * ch * v);
            }
        };
    }
}
