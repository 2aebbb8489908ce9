package dev.toygpt.kernels;

import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * LayerNorm's forward and backward kernels against a plain double-precision computation, at row widths
 * that fill whole SIMD vectors and ragged ones, and over more rows than one backward block.
 */
class LayerNormTest {
    @Test
    void forwardAndBackwardMatchAPlainComputation() {
        Rng rng = new Rng(77);
        int rows = 70;
        for (int n : new int[]{3, 8, 20, 64, 67, 384}) {
            float[] x = new float[rows * n], dy = new float[rows * n], w = new float[n], b = new float[n];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (rng.nextGaussian() * 2 + 0.5);
                dy[i] = (float) rng.nextGaussian();
            }
            for (int j = 0; j < n; j++) {
                w[j] = (float) (1 + 0.3 * rng.nextGaussian());
                b[j] = (float) (0.1 * rng.nextGaussian());
            }
            float eps = 1e-5f;
            float[] y = new float[rows * n], mean = new float[rows], rstd = new float[rows];
            LayerNorm.forward(x, w, b, y, mean, rstd, rows, n, eps);
            float[] dx = new float[rows * n], dw = new float[n], db = new float[n];
            for (int i = 0; i < dx.length; i++) dx[i] = 0.25f; // backward adds to what is there
            LayerNorm.backward(x, w, mean, rstd, dy, dx, dw, db, rows, n);

            double[] dwRef = new double[n], dbRef = new double[n];
            for (int r = 0; r < rows; r++) {
                int off = r * n;
                double m = 0, v = 0;
                for (int j = 0; j < n; j++) m += x[off + j];
                m /= n;
                for (int j = 0; j < n; j++) v += (x[off + j] - m) * (x[off + j] - m);
                v /= n;
                double s = 1 / Math.sqrt(v + eps), gMean = 0, gxMean = 0;
                for (int j = 0; j < n; j++) {
                    double xhat = (x[off + j] - m) * s;
                    assertEquals(xhat * w[j] + b[j], y[off + j], 2e-5, "y, width " + n);
                    double g = dy[off + j] * w[j];
                    gMean += g / n;
                    gxMean += g * xhat / n;
                    dwRef[j] += dy[off + j] * xhat;
                    dbRef[j] += dy[off + j];
                }
                for (int j = 0; j < n; j++) {
                    double xhat = (x[off + j] - m) * s, g = dy[off + j] * w[j];
                    assertEquals(0.25 + s * (g - gMean - xhat * gxMean), dx[off + j], 2e-4, "dx, width " + n);
                }
            }
            for (int j = 0; j < n; j++) {
                assertEquals(dwRef[j], dw[j], 2e-3, "dweight, width " + n);
                assertEquals(dbRef[j], db[j], 2e-3, "dbias, width " + n);
            }
        }
    }

    /**
     * The calling thread's rows with the caller's scratch for the lane sums, from any index, give the same
     * floats as the parallel forward pass (the decoder's logits are the training forward's), and leave the
     * scratch's other floats alone.
     */
    @Test
    void forwardOnThisThreadWithScratchGivesTheForwardPassesFloats() {
        Rng rng = new Rng(78);
        for (int n : new int[]{8, 20, 64, 67, 128}) {
            int rows = 3;
            float[] x = new float[rows * n], w = new float[n], b = new float[n];
            for (int i = 0; i < x.length; i++) x[i] = (float) (rng.nextGaussian() * 3 - 1);
            for (int j = 0; j < n; j++) {
                w[j] = (float) (1 + 0.3 * rng.nextGaussian());
                b[j] = (float) (0.1 * rng.nextGaussian());
            }
            float[] y = new float[rows * n], mean = new float[rows], rstd = new float[rows];
            LayerNorm.forward(x, w, b, y, mean, rstd, rows, n, 1e-5f);
            for (int at : new int[]{0, 5, 12}) {
                float[] lanes = new float[at + 16 + 3];
                java.util.Arrays.fill(lanes, Float.NaN); // stale scratch must not matter
                float[] y2 = new float[rows * n], mean2 = new float[rows], rstd2 = new float[rows];
                LayerNorm.forwardOnThisThread(x, w, b, y2, mean2, rstd2, rows, n, 1e-5f, lanes, at);
                org.junit.jupiter.api.Assertions.assertArrayEquals(y, y2, "n=" + n + " at=" + at);
                org.junit.jupiter.api.Assertions.assertArrayEquals(mean, mean2);
                org.junit.jupiter.api.Assertions.assertArrayEquals(rstd, rstd2);
                for (int i = 0; i < at; i++) assertEquals(Float.NaN, lanes[i], "before the scratch");
                for (int i = at + 16; i < lanes.length; i++) assertEquals(Float.NaN, lanes[i], "after the scratch");
            }
        }
    }
}
