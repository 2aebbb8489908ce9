package dev.toygpt.kernels;

/**
 * Cross-entropy from logits, fused with the softmax: loss = mean over rows of (logsumexp(row) - row[target]).
 * The gradient is (softmax - one_hot(target)) / rows, so the probabilities are kept from the forward pass
 * (and the gradient is then computed in their array).
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

    /**
     * probs becomes scale * (probs - one_hot(targets)) / rows in place, where scale is d loss: d loss / d logits,
     * in the array the forward pass filled, so the backward pass needs no array of its own.
     */
    public static void gradientInPlace(float[] probs, int[] targets, int rows, int n, float scale) {
        float s = scale / rows;
        for (int r = 0; r < rows; r++) {
            int off = r * n;
            for (int j = 0; j < n; j++) probs[off + j] *= s;
            probs[off + targets[r]] -= s;
        }
    }
}
