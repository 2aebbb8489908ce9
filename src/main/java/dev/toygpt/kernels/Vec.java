package dev.toygpt.kernels;

/**
 * Short loops over slices of float arrays that the kernels are built from. With the Vector API each runs
 * on SIMD registers ({@link SimdVec}); otherwise as plain loops. {@link MatMul#SIMD} is a constant, so the
 * JIT keeps only one branch.
 */
public final class Vec {
    private Vec() {}

    /** Σ a[aOff+i] · b[bOff+i] for i < n. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        if (MatMul.SIMD) return SimdVec.dot(a, aOff, b, bOff, n);
        float s = 0f;
        for (int i = 0; i < n; i++) s += a[aOff + i] * b[bOff + i];
        return s;
    }

    /** The largest of a[off..off+n), as Math.max finds it (NaN if there is one); -infinity when n is 0. */
    public static float max(float[] a, int off, int n) {
        if (MatMul.SIMD) return SimdVec.max(a, off, n);
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) m = Math.max(m, a[off + i]);
        return m;
    }

    /** y[yOff+i] += alpha · x[xOff+i] for i < n. */
    public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        if (MatMul.SIMD) {
            SimdVec.axpy(alpha, x, xOff, y, yOff, n);
            return;
        }
        for (int i = 0; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }

    /** y = max(x, slope·x) element-wise. */
    public static void leakyRelu(float[] x, float[] y, float slope) {
        leakyRelu(x, y, 0, x.length, slope);
    }

    /** y[i] = max(x[i], slope·x[i]) for i in [from, to). */
    public static void leakyRelu(float[] x, float[] y, int from, int to, float slope) {
        if (MatMul.SIMD) {
            SimdVec.leakyRelu(x, y, from, to, slope);
            return;
        }
        for (int i = from; i < to; i++) y[i] = x[i] > 0f ? x[i] : x[i] * slope;
    }

    /** dx += dy where x > 0, dy · slope elsewhere. */
    public static void leakyReluBackward(float[] x, float[] dy, float[] dx, float slope) {
        if (MatMul.SIMD) {
            SimdVec.leakyReluBackward(x, dy, dx, slope);
            return;
        }
        for (int i = 0; i < x.length; i++) dx[i] += x[i] > 0f ? dy[i] : dy[i] * slope;
    }
}
