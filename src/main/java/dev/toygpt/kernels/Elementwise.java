package dev.toygpt.kernels;

/**
 * The short passes of a training step between the matrix products: sums of arrays, column sums (a bias's
 * gradient) and ReLU's backward pass. With the Vector API they run in {@link SimdElementwise}; both versions
 * add every element in the same order (rows ascending), so they give the same results.
 *
 * <p>Threads share them out by rows, or, for the column sums, by columns: each column is then still summed
 * by one thread from row 0 down, so the sums do not depend on the thread count (and need no partial sums to
 * be added afterwards).
 */
public final class Elementwise {
    private Elementwise() {}

    /**
     * Columns per part of the column sums: 64 floats, four 512-bit vectors, so that every part runs the SIMD
     * kernel's widest loop (four sums in registers) on AVX-512 as on AVX2 (twice there).
     */
    static final int COLUMN_GROUP = 64;
    /** Elements per part of the element-wise passes that are not split by rows. */
    static final int SPAN = 1024;
    /**
     * What one element of these passes costs, in the flops that {@link Parallel#forRange} weighs work in: a few
     * loads and stores for one addition, so about what a few multiply-adds of the matrix product cost.
     */
    static final long COST_PER_ELEMENT = 4;

    /** out[i] = a[i] + b[i % b.length] for i < a.length: b (a bias, a position table) repeats along a. */
    public static void addRepeated(float[] a, float[] b, float[] out) {
        int n = b.length, rows = n == 0 ? 0 : a.length / n;
        if (rows == 1) { // the same shape (a residual connection): shared out by spans, not by its one row
            Parallel.forRange(spans(n), COST_PER_ELEMENT * SPAN, (s0, s1) -> {
                int from = s0 * SPAN, to = Math.min(n, s1 * SPAN);
                if (MatMul.SIMD) {
                    SimdElementwise.add(a, b, out, from, to);
                    return;
                }
                for (int i = from; i < to; i++) out[i] = a[i] + b[i];
            });
            return;
        }
        Parallel.forRange(rows, COST_PER_ELEMENT * n, (r0, r1) -> {
            if (MatMul.SIMD) {
                SimdElementwise.addRepeated(a, b, out, r0 * n, r1 * n, n);
                return;
            }
            for (int row = r0 * n; row < r1 * n; row += n) {
                for (int i = 0; i < n; i++) out[row + i] = a[row + i] + b[i];
            }
        });
    }

    /** dst[i] += src[i] for i < src.length. */
    public static void addInto(float[] src, float[] dst) {
        int size = src.length;
        Parallel.forRange(spans(size), COST_PER_ELEMENT * SPAN, (s0, s1) -> {
            int from = s0 * SPAN, to = Math.min(size, s1 * SPAN);
            if (MatMul.SIMD) {
                SimdElementwise.addInto(src, dst, from, to);
                return;
            }
            for (int i = from; i < to; i++) dst[i] += src[i];
        });
    }

    /**
     * dst[i] = (dst[i] + src[i]) * scale for i < src.length: the last addition of a mean and its division in one
     * pass over memory, the same floats as two passes.
     */
    public static void addIntoAndScale(float[] src, float[] dst, float scale) {
        int size = src.length;
        Parallel.forRange(spans(size), COST_PER_ELEMENT * SPAN, (s0, s1) -> {
            for (int i = s0 * SPAN, to = Math.min(size, s1 * SPAN); i < to; i++) dst[i] = (dst[i] + src[i]) * scale;
        });
    }

    /**
     * dst row ids[i] += src row i, for each i in order, rows of length n: the gradient of an embedding table.
     * On the calling thread: rows of the same id add into the same place, and the pass is short.
     */
    public static void addRowsAt(float[] src, int[] ids, float[] dst, int n) {
        for (int i = 0; i < ids.length; i++) {
            int from = i * n, to = ids[i] * n;
            if (MatMul.SIMD) {
                SimdElementwise.addInto(src, from, dst, to, n);
                continue;
            }
            for (int j = 0; j < n; j++) dst[to + j] += src[from + j];
        }
    }

    /**
     * out(n) = column sums of m(rows, n), or out += them when accumulate: the gradient of a bias added to
     * every row. Each column is summed from row 0 down.
     */
    public static void columnSums(float[] m, int rows, int n, float[] out, boolean accumulate) {
        // an addition per element of data just written, still in the cache: a bias's gradient of seed's size
        // (512 x 64) takes 1.5 us on one thread, less than handing half of it to another
        Parallel.forRange(columnGroups(n), (long) COLUMN_GROUP * rows, (g0, g1) -> {
            int c0 = g0 * COLUMN_GROUP, c1 = Math.min(n, g1 * COLUMN_GROUP);
            if (MatMul.SIMD) {
                SimdElementwise.columnSums(m, rows, n, c0, c1, out, accumulate);
                return;
            }
            if (!accumulate) java.util.Arrays.fill(out, c0, c1, 0f);
            for (int r = 0; r < rows; r++) {
                int row = r * n;
                for (int j = c0; j < c1; j++) out[j] += m[row + j];
            }
        });
    }

    /**
     * ReLU's backward pass in place: dy(rows, n) keeps its values where the ReLU's output y was positive and
     * becomes 0 elsewhere. When dBias is not null, it also gets the column sums of the result (or adds them,
     * when accumulate): the gradient of the bias inside the ReLU, in the same pass.
     */
    public static void reluBackwardInPlace(float[] y, float[] dy, int rows, int n, float[] dBias, boolean accumulate) {
        if (dBias == null) {
            int size = rows * n;
            Parallel.forRange(spans(size), COST_PER_ELEMENT * SPAN, (s0, s1) -> {
                int from = s0 * SPAN, to = Math.min(size, s1 * SPAN);
                if (MatMul.SIMD) {
                    SimdElementwise.reluBackwardInPlace(y, dy, from, to);
                    return;
                }
                for (int i = from; i < to; i++) dy[i] = y[i] > 0f ? dy[i] : 0f;
            });
            return;
        }
        Parallel.forRange(columnGroups(n), COST_PER_ELEMENT * COLUMN_GROUP * rows, (g0, g1) -> {
            int c0 = g0 * COLUMN_GROUP, c1 = Math.min(n, g1 * COLUMN_GROUP);
            if (MatMul.SIMD) {
                SimdElementwise.reluBackwardInPlace(y, dy, rows, n, c0, c1, dBias, accumulate);
                return;
            }
            if (!accumulate) java.util.Arrays.fill(dBias, c0, c1, 0f);
            for (int r = 0; r < rows; r++) {
                int row = r * n;
                for (int j = c0; j < c1; j++) {
                    float g = y[row + j] > 0f ? dy[row + j] : 0f;
                    dy[row + j] = g;
                    dBias[j] += g;
                }
            }
        });
    }

    /** y = max(x, slope * x) element-wise; slope 0 is ReLU. */
    public static void leakyRelu(float[] x, float[] y, float slope) {
        int size = x.length;
        Parallel.forRange(spans(size), COST_PER_ELEMENT * SPAN, (s0, s1) ->
                Vec.leakyRelu(x, y, s0 * SPAN, Math.min(size, s1 * SPAN), slope));
    }

    private static int spans(int size) {
        return (size + SPAN - 1) / SPAN;
    }

    private static int columnGroups(int n) {
        return (n + COLUMN_GROUP - 1) / COLUMN_GROUP;
    }
}
