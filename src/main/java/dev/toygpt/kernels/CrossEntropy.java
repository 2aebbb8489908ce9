package dev.toygpt.kernels;

/**
 * Cross-entropy from logits, fused with the softmax: loss = mean over rows of (logsumexp(row) - row[target]).
 * The gradient is (softmax - one_hot(target)) / rows, so the probabilities are kept from the forward pass.
 */
public final class CrossEntropy {
    private CrossEntropy() {}

    /** Writes softmax(logits) into probs and returns the mean loss. */
    public static float forward(float[] logits, int[] targets, float[] probs, int rows, int n) {
        double total = 0;
        for (int r = 0; r < rows; r++) {
            int off = r * n;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) max = Math.max(max, logits[off + j]);
            double sum = 0;
            for (int j = 0; j < n; j++) {
                float e = (float) Math.exp(logits[off + j] - max);
                probs[off + j] = e;
                sum += e;
            }
            float inv = (float) (1.0 / sum);
            for (int j = 0; j < n; j++) probs[off + j] *= inv;
            total += Math.log(sum) + max - logits[off + targets[r]];
        }
        return (float) (total / rows);
    }

    /** dLogits += scale * (probs - one_hot(targets)) / rows, where scale is d loss. */
    public static void backward(float[] probs, int[] targets, float[] dLogits, int rows, int n, float scale) {
        float s = scale / rows;
        for (int r = 0; r < rows; r++) {
            int off = r * n;
            for (int j = 0; j < n; j++) dLogits[off + j] += s * probs[off + j];
            dLogits[off + targets[r]] -= s;
        }
    }
}
