package dev.toygpt.kernels;

/** Numerically stable softmax along rows: the largest value is subtracted before exp. */
public final class Softmax {
    private Softmax() {}

    /** out[row] = softmax(x[row]) for each of rows rows of length n. */
    public static void forward(float[] x, float[] out, int rows, int n) {
        for (int r = 0; r < rows; r++) {
            softmaxRow(x, r * n, out, r * n, n);
        }
    }

    /** Softmax of one row of length n, from x[xOff..] into out[outOff..] (which may be the same place). */
    static void softmaxRow(float[] x, int xOff, float[] out, int outOff, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) max = Math.max(max, x[xOff + j]);
        float sum = 0f;
        for (int j = 0; j < n; j++) {
            float e = (float) Math.exp(x[xOff + j] - max);
            out[outOff + j] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int j = 0; j < n; j++) out[outOff + j] *= inv;
    }

    /** dx += y ⊙ (dy - sum(dy ⊙ y)) row by row, given the softmax output y. */
    public static void backward(float[] y, float[] dy, float[] dx, int rows, int n) {
        for (int r = 0; r < rows; r++) {
            int off = r * n;
            float dot = 0f;
            for (int j = 0; j < n; j++) dot += dy[off + j] * y[off + j];
            for (int j = 0; j < n; j++) dx[off + j] += y[off + j] * (dy[off + j] - dot);
        }
    }
}
