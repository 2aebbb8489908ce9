package dev.toygpt.kernels;

import dev.toygpt.util.Rng;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The cross-entropy kernel against a plain loop with Math.exp: the SIMD exponentials give Math.exp's floats,
 * so probabilities, gradient and loss must be equal to the bit, with one thread or two (rows shared out).
 */
class CrossEntropyTest {
    private final int defaultThreads = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(defaultThreads);
    }

    @Test
    void probabilitiesGradientAndLossEqualThePlainLoopWithOneOrTwoThreads() {
        Rng rng = new Rng(11);
        for (int n : new int[]{1, 7, 8, 65, 130}) {
            int rows = 600; // enough rows for two threads to share them
            float[] logits = new float[rows * n];
            for (int i = 0; i < logits.length; i++) logits[i] = (float) (rng.nextGaussian() * 6);
            logits[3] = -200f; // an exponential below the normal floats
            int[] targets = new int[rows];
            for (int r = 0; r < rows; r++) targets[r] = rng.nextInt(n);

            float[] probs = new float[rows * n], grad = new float[rows * n];
            double total = 0;
            for (int r = 0; r < rows; r++) {
                int off = r * n;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) max = Math.max(max, logits[off + j]);
                double sum = 0;
                for (int j = 0; j < n; j++) {
                    probs[off + j] = (float) Math.exp(logits[off + j] - max);
                    sum += probs[off + j];
                }
                float inv = (float) (1.0 / sum), s = 1f / rows;
                for (int j = 0; j < n; j++) {
                    probs[off + j] *= inv;
                    grad[off + j] = probs[off + j] * s;
                }
                grad[off + targets[r]] -= s;
                total += Math.log(sum) + max - logits[off + targets[r]];
            }
            float loss = (float) (total / rows);

            for (int threads : new int[]{1, 2}) {
                Parallel.setThreads(threads);
                float[] p = new float[rows * n], g = new float[rows * n];
                assertEquals(loss, CrossEntropy.forward(logits, targets, p, rows, n), "loss, n=" + n + ", threads=" + threads);
                assertArrayEquals(probs, p, "probabilities, n=" + n + ", threads=" + threads);
                assertEquals(loss, CrossEntropy.forwardAndGradient(logits, targets, g, rows, n), "loss with gradient, n=" + n);
                assertArrayEquals(grad, g, "gradient, n=" + n + ", threads=" + threads);
            }
        }
    }
}
