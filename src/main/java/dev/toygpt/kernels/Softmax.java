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

    /**
     * x[i] = e^x[i] for i < n, in place, for x[i] <= 0 (a softmax's numerators, the row's maximum already
     * subtracted). Without SIMD these are Math.exp's values; with it, within 2^-48 of them (relative), several
     * times faster (Math.exp one value at a time was most of the time of sampling a token), and Math.exp's
     * own below -87. x needs room for {@link #expRoom}(n) values.
     */
    public static void expInPlace(double[] x, int n) {
        if (MatMul.SIMD) SimdExp.expInPlace(x, n);
        else for (int i = 0; i < n; i++) x[i] = Math.exp(x[i]);
    }

    /** The length an array needs for {@link #expInPlace} of n values: n rounded up to whole vectors. */
    public static int expRoom(int n) {
        return MatMul.SIMD ? SimdExp.room(n) : n;
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
