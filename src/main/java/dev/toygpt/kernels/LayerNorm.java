package dev.toygpt.kernels;

/** LayerNorm over the last dimension: y = (x - mean) / sqrt(var + eps) * weight + bias, biased variance. */
public final class LayerNorm {
    private LayerNorm() {}

    /** Normalises rows of x(rows, n); saves each row's mean and 1/std for the backward pass. */
    public static void forward(float[] x, float[] weight, float[] bias, float[] y, float[] mean, float[] rstd,
                               int rows, int n, float eps) {
        Parallel.forRange(rows, 8L * n, (start, end) -> {
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
        });
    }

    /**
     * Accumulates dx, dWeight, dBias. With xhat = (x - mean) * rstd and g = dy * weight:
     * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)).
     */
    public static void backward(float[] x, float[] weight, float[] mean, float[] rstd, float[] dy,
                                float[] dx, float[] dWeight, float[] dBias, int rows, int n) {
        for (int r = 0; r < rows; r++) {
            int off = r * n;
            float m = mean[r], s = rstd[r];
            float gMean = 0f, gxMean = 0f;
            for (int j = 0; j < n; j++) {
                float xhat = (x[off + j] - m) * s;
                float g = dy[off + j] * weight[j];
                gMean += g;
                gxMean += g * xhat;
                if (dWeight != null) dWeight[j] += dy[off + j] * xhat;
                if (dBias != null) dBias[j] += dy[off + j];
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
}
