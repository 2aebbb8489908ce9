package dev.toygpt.kernels;

/** LayerNorm over the last dimension: y = (x - mean) / sqrt(var + eps) * weight + bias, biased variance. */
public final class LayerNorm {
    private LayerNorm() {}

    /** Normalises rows of x(rows, n); saves each row's mean and 1/std for the backward pass. */
    public static void forward(float[] x, float[] weight, float[] bias, float[] y, float[] mean, float[] rstd,
                               int rows, int n, float eps) {
        Parallel.forRange(rows, 8L * n, (start, end) -> forwardRows(x, weight, bias, y, mean, rstd, start, end, n, eps, null, 0));
    }

    /**
     * The same on the calling thread alone, for one or a few rows (generation, a token at a time), where
     * handing work to another thread costs more than the work; lanes[lanesAt ..] is scratch for a vector's
     * lane sums (16 floats, best from a cache line's start: a decoder normalises nine times a token, and
     * made a new array each time).
     */
    public static void forwardOnThisThread(float[] x, float[] weight, float[] bias, float[] y, float[] mean, float[] rstd,
                                           int rows, int n, float eps, float[] lanes, int lanesAt) {
        forwardRows(x, weight, bias, y, mean, rstd, 0, rows, n, eps, lanes, lanesAt);
    }

    private static void forwardRows(float[] x, float[] weight, float[] bias, float[] y, float[] mean, float[] rstd,
                                    int start, int end, int n, float eps, float[] lanes, int lanesAt) {
        if (MatMul.SIMD) {
            SimdLayerNorm.forwardRows(x, weight, bias, y, mean, rstd, start, end, n, eps, lanes, lanesAt);
            return;
        }
        for (int r = start; r < end; r++) {
            int off = r * n;
            float m = 0f;
            for (int j = 0; j < n; j++) m += x[off + j];
            m /= n;
            float v = 0f;
            for (int j = 0; j < n; j++) {
                float d = x[off + j] - m;
                v += d * d;
            }
            v /= n;
            float s = (float) (1.0 / Math.sqrt(v + eps));
            for (int j = 0; j < n; j++) {
                y[off + j] = (x[off + j] - m) * s * weight[j] + bias[j];
            }
            mean[r] = m;
            rstd[r] = s;
        }
    }

    /** Rows per block of the backward pass: a fixed number, so that sums do not depend on the thread count. */
    private static final int BACKWARD_BLOCK = 64;

    /**
     * Accumulates dx, dWeight, dBias. With xhat = (x - mean) * rstd and g = dy * weight:
     * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)). Threads take blocks of rows; each block sums its
     * part of dWeight and dBias apart, and the blocks' sums are added in block order at the end.
     */
    public static void backward(float[] x, float[] weight, float[] mean, float[] rstd, float[] dy,
                                float[] dx, float[] dWeight, float[] dBias, int rows, int n) {
        int blocks = (rows + BACKWARD_BLOCK - 1) / BACKWARD_BLOCK;
        float[] partial = new float[blocks * 2 * n]; // per block: dWeight part, then dBias part
        Parallel.forRange(blocks, 16L * BACKWARD_BLOCK * n, (start, end) -> {
            for (int blk = start; blk < end; blk++) {
                int pw = blk * 2 * n, pb = pw + n;
                if (MatMul.SIMD) {
                    SimdLayerNorm.backwardRows(x, weight, mean, rstd, dy, dx, partial, pw, pb,
                            blk * BACKWARD_BLOCK, Math.min(rows, (blk + 1) * BACKWARD_BLOCK), n);
                    continue;
                }
                for (int r = blk * BACKWARD_BLOCK; r < Math.min(rows, (blk + 1) * BACKWARD_BLOCK); r++) {
                    int off = r * n;
                    float m = mean[r], s = rstd[r];
                    float gMean = 0f, gxMean = 0f;
                    for (int j = 0; j < n; j++) {
                        float xhat = (x[off + j] - m) * s;
                        float g = dy[off + j] * weight[j];
                        gMean += g;
                        gxMean += g * xhat;
                        partial[pw + j] += dy[off + j] * xhat;
                        partial[pb + j] += dy[off + j];
                    }
                    gMean /= n;
                    gxMean /= n;
                    if (dx == null) continue;
                    for (int j = 0; j < n; j++) {
                        float xhat = (x[off + j] - m) * s;
                        float g = dy[off + j] * weight[j];
                        dx[off + j] += s * (g - gMean - xhat * gxMean);
                    }
                }
            }
        });
        for (int blk = 0; blk < blocks; blk++) {
            int pw = blk * 2 * n, pb = pw + n;
            for (int j = 0; j < n; j++) {
                if (dWeight != null) dWeight[j] += partial[pw + j];
                if (dBias != null) dBias[j] += partial[pb + j];
            }
        }
    }
}
