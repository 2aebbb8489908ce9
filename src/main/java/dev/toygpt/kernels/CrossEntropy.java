package dev.toygpt.kernels;

/**
 * Cross-entropy from logits, fused with the softmax: loss = mean over rows of (logsumexp(row) - row[target]).
 * The gradient is (softmax - one_hot(target)) / rows; in training it is written in the same pass as the loss,
 * so the backward pass has nothing left to compute. Threads share the rows; each row's loss is kept apart
 * and the losses are added in row order, so the result does not depend on the thread count.
 */
public final class CrossEntropy {
    private CrossEntropy() {}

    /** Exponentials, a division and the loss's terms per logit, in the flops {@link Parallel} weighs work in. */
    private static final long COST_PER_LOGIT = 40;

    /** Writes softmax(logits) into probs and returns the mean loss. */
    public static float forward(float[] logits, int[] targets, float[] probs, int rows, int n) {
        return forward(logits, targets, probs, rows, n, false);
    }

    /**
     * Writes d loss / d logits = (softmax(logits) - one_hot(targets)) / rows into grad and returns the mean
     * loss: the forward and the backward pass of a training step in one.
     */
    public static float forwardAndGradient(float[] logits, int[] targets, float[] grad, int rows, int n) {
        return forward(logits, targets, grad, rows, n, true);
    }

    /** g *= scale: the gradient of scale * loss, for a loss that is not the last operation. */
    public static void scale(float[] g, float scale) {
        for (int i = 0; i < g.length; i++) g[i] *= scale;
    }

    private static float forward(float[] logits, int[] targets, float[] out, int rows, int n, boolean gradient) {
        double[] rowLoss = new double[rows];
        Parallel.forRange(rows, COST_PER_LOGIT * n, (r0, r1) -> rows(logits, targets, out, rowLoss, r0, r1, rows, n, gradient));
        double total = 0;
        for (int r = 0; r < rows; r++) total += rowLoss[r];
        return (float) (total / rows);
    }

    private static void rows(float[] logits, int[] targets, float[] out, double[] rowLoss, int r0, int r1, int rows, int n,
                             boolean gradient) {
        // the exponentials of the rows, in SIMD registers with the same floats as Math.exp (see SimdExp)
        float[] maxes = MatMul.SIMD ? new float[r1 - r0] : null;
        if (MatMul.SIMD) SimdExp.expRows(logits, out, maxes, r0, r1, n);
        float s = 1f / rows;
        for (int r = r0; r < r1; r++) {
            int off = r * n;
            float max;
            if (MatMul.SIMD) {
                max = maxes[r - r0];
            } else {
                max = Vec.max(logits, off, n);
                for (int j = 0; j < n; j++) out[off + j] = (float) Math.exp(logits[off + j] - max);
            }
            double sum = 0;
            for (int j = 0; j < n; j++) sum += out[off + j];
            float inv = (float) (1.0 / sum);
            if (gradient) {
                for (int j = 0; j < n; j++) out[off + j] = out[off + j] * inv * s;
                out[off + targets[r]] -= s;
            } else {
                for (int j = 0; j < n; j++) out[off + j] *= inv;
            }
            rowLoss[r] = Math.log(sum) + max - logits[off + targets[r]];
        }
    }
}
