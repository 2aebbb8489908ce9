package dev.toygpt.kernels;

/**
 * The short passes of a training step between the matrix products: sums of arrays, column sums (a bias's
 * gradient) and ReLU's backward pass. With the Vector API they run in {@link SimdElementwise}; both versions
 * add every element in the same order (rows ascending), so they give the same results.
 */
public final class Elementwise {
    private Elementwise() {}

    /** out[i] = a[i] + b[i % b.length] for i < a.length: b (a bias, a position table) repeats along a. */
    public static void addRepeated(float[] a, float[] b, float[] out) {
        int n = b.length;
        if (MatMul.SIMD) {
            SimdElementwise.addRepeated(a, b, out, a.length, n);
            return;
        }
        for (int row = 0; row < a.length; row += n) {
            for (int i = 0; i < n; i++) out[row + i] = a[row + i] + b[i];
        }
    }

    /** dst[i] += src[i] for i < src.length. */
    public static void addInto(float[] src, float[] dst) {
        if (MatMul.SIMD) {
            SimdElementwise.addInto(src, dst, src.length);
            return;
        }
        for (int i = 0; i < src.length; i++) dst[i] += src[i];
    }

    /**
     * out(n) = column sums of m(rows, n), or out += them when accumulate: the gradient of a bias added to
     * every row. Each column is summed from row 0 down.
     */
    public static void columnSums(float[] m, int rows, int n, float[] out, boolean accumulate) {
        if (MatMul.SIMD) {
            SimdElementwise.columnSums(m, rows, n, out, accumulate);
            return;
        }
        if (!accumulate) java.util.Arrays.fill(out, 0, n, 0f);
        for (int r = 0; r < rows; r++) {
            int row = r * n;
            for (int j = 0; j < n; j++) out[j] += m[row + j];
        }
    }

    /**
     * ReLU's backward pass in place: dy(rows, n) keeps its values where the ReLU's output y was positive and
     * becomes 0 elsewhere. When dBias is not null, it also gets the column sums of the result (or adds them,
     * when accumulate): the gradient of the bias inside the ReLU, in the same pass.
     */
    public static void reluBackwardInPlace(float[] y, float[] dy, int rows, int n, float[] dBias, boolean accumulate) {
        if (MatMul.SIMD) {
            SimdElementwise.reluBackwardInPlace(y, dy, rows, n, dBias, accumulate);
            return;
        }
        if (dBias != null && !accumulate) java.util.Arrays.fill(dBias, 0, n, 0f);
        for (int r = 0; r < rows; r++) {
            int row = r * n;
            for (int j = 0; j < n; j++) {
                float g = y[row + j] > 0f ? dy[row + j] : 0f;
                dy[row + j] = g;
                if (dBias != null) dBias[j] += g;
            }
        }
    }
}
