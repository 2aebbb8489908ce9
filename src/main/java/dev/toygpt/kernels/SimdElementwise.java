package dev.toygpt.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Elementwise} with the Vector API, on the part of the array or the columns one thread takes; loaded
 * only when the module is present. The column sums keep four vectors of sums in registers while they go
 * down a chunk of rows, so each row costs four loads and adds instead of loading and storing the sums again.
 */
final class SimdElementwise {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    /**
     * Rows per sweep of the column sums: the sums go back to memory after each chunk of rows (and on, in the
     * same order), so that a sweep down one group of columns reads rows still in the cache, not a whole
     * matrix that is not.
     */
    private static final int ROW_CHUNK = 16;

    private SimdElementwise() {}

    /** out[i] = a[i] + b[i % n] for i in [from, to), where from and to are multiples of n. */
    static void addRepeated(float[] a, float[] b, float[] out, int from, int to, int n) {
        int vn = n - n % L;
        for (int row = from; row < to; row += n) {
            for (int i = 0; i < vn; i += L) {
                FloatVector.fromArray(S, a, row + i).add(FloatVector.fromArray(S, b, i)).intoArray(out, row + i);
            }
            for (int i = vn; i < n; i++) out[row + i] = a[row + i] + b[i];
        }
    }

    static void add(float[] a, float[] b, float[] out, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) {
            FloatVector.fromArray(S, a, i).add(FloatVector.fromArray(S, b, i)).intoArray(out, i);
        }
        for (; i < to; i++) out[i] = a[i] + b[i];
    }

    /** dst[dstOff + i] += src[srcOff + i] for i < n. */
    static void addInto(float[] src, int srcOff, float[] dst, int dstOff, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(S, dst, dstOff + i).add(FloatVector.fromArray(S, src, srcOff + i)).intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) dst[dstOff + i] += src[srcOff + i];
    }

    /** dst[i] += src[i] for i in [from, to). */
    static void addInto(float[] src, float[] dst, int from, int to) {
        addInto(src, from, dst, from, to - from);
    }

    /** Columns [c0, c1) of m(rows, n): out[j] (+)= the sum of column j, from row 0 down. */
    static void columnSums(float[] m, int rows, int n, int c0, int c1, float[] out, boolean accumulate) {
        for (int r0 = 0; r0 < rows; r0 += ROW_CHUNK) {
            columnSums(m, r0, Math.min(rows, r0 + ROW_CHUNK), n, c0, c1, out, accumulate || r0 > 0);
        }
    }

    /** Rows [r0, r1), columns [c0, c1): each column's sum goes on from out (or from 0), one row after the other. */
    private static void columnSums(float[] m, int r0, int r1, int n, int c0, int c1, float[] out, boolean accumulate) {
        int j = c0;
        for (; j + 4 * L <= c1; j += 4 * L) {
            FloatVector s0 = start(out, j, accumulate), s1 = start(out, j + L, accumulate);
            FloatVector s2 = start(out, j + 2 * L, accumulate), s3 = start(out, j + 3 * L, accumulate);
            for (int r = r0, o = r0 * n + j; r < r1; r++, o += n) {
                s0 = s0.add(FloatVector.fromArray(S, m, o));
                s1 = s1.add(FloatVector.fromArray(S, m, o + L));
                s2 = s2.add(FloatVector.fromArray(S, m, o + 2 * L));
                s3 = s3.add(FloatVector.fromArray(S, m, o + 3 * L));
            }
            s0.intoArray(out, j);
            s1.intoArray(out, j + L);
            s2.intoArray(out, j + 2 * L);
            s3.intoArray(out, j + 3 * L);
        }
        for (; j + L <= c1; j += L) {
            FloatVector s0 = start(out, j, accumulate);
            for (int r = r0, o = r0 * n + j; r < r1; r++, o += n) s0 = s0.add(FloatVector.fromArray(S, m, o));
            s0.intoArray(out, j);
        }
        for (; j < c1; j++) {
            float s = accumulate ? out[j] : 0f;
            for (int r = r0; r < r1; r++) s += m[r * n + j];
            out[j] = s;
        }
    }

    /** dy[i] stays where y[i] > 0 and becomes 0 elsewhere, for i in [from, to). */
    static void reluBackwardInPlace(float[] y, float[] dy, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) maskedLoad(y, dy, i).intoArray(dy, i);
        for (; i < to; i++) dy[i] = y[i] > 0f ? dy[i] : 0f;
    }

    /** Columns [c0, c1) of ReLU's backward pass, with their column sums into dBias. */
    static void reluBackwardInPlace(float[] y, float[] dy, int rows, int n, int c0, int c1, float[] dBias, boolean accumulate) {
        for (int r0 = 0; r0 < rows; r0 += ROW_CHUNK) {
            reluBackwardInPlace(y, dy, r0, Math.min(rows, r0 + ROW_CHUNK), n, c0, c1, dBias, accumulate || r0 > 0);
        }
    }

    private static void reluBackwardInPlace(float[] y, float[] dy, int r0, int r1, int n, int c0, int c1, float[] dBias,
                                            boolean accumulate) {
        int j = c0;
        for (; j + 4 * L <= c1; j += 4 * L) {
            FloatVector s0 = start(dBias, j, accumulate), s1 = start(dBias, j + L, accumulate);
            FloatVector s2 = start(dBias, j + 2 * L, accumulate), s3 = start(dBias, j + 3 * L, accumulate);
            for (int r = r0, o = r0 * n + j; r < r1; r++, o += n) {
                FloatVector g0 = maskedLoad(y, dy, o), g1 = maskedLoad(y, dy, o + L);
                FloatVector g2 = maskedLoad(y, dy, o + 2 * L), g3 = maskedLoad(y, dy, o + 3 * L);
                g0.intoArray(dy, o);
                g1.intoArray(dy, o + L);
                g2.intoArray(dy, o + 2 * L);
                g3.intoArray(dy, o + 3 * L);
                s0 = s0.add(g0);
                s1 = s1.add(g1);
                s2 = s2.add(g2);
                s3 = s3.add(g3);
            }
            s0.intoArray(dBias, j);
            s1.intoArray(dBias, j + L);
            s2.intoArray(dBias, j + 2 * L);
            s3.intoArray(dBias, j + 3 * L);
        }
        for (; j + L <= c1; j += L) {
            FloatVector s0 = start(dBias, j, accumulate);
            for (int r = r0, o = r0 * n + j; r < r1; r++, o += n) {
                FloatVector g = maskedLoad(y, dy, o);
                g.intoArray(dy, o);
                s0 = s0.add(g);
            }
            s0.intoArray(dBias, j);
        }
        for (; j < c1; j++) {
            float s = accumulate ? dBias[j] : 0f;
            for (int r = r0; r < r1; r++) {
                int o = r * n + j;
                float g = y[o] > 0f ? dy[o] : 0f;
                dy[o] = g;
                s += g;
            }
            dBias[j] = s;
        }
    }

    /** dy[o..o+L) where y is positive, 0 elsewhere (also where y is NaN, as the scalar loop). */
    private static FloatVector maskedLoad(float[] y, float[] dy, int o) {
        return FloatVector.zero(S).blend(FloatVector.fromArray(S, dy, o), FloatVector.fromArray(S, y, o).compare(VectorOperators.GT, 0f));
    }

    private static FloatVector start(float[] out, int j, boolean accumulate) {
        return accumulate ? FloatVector.fromArray(S, out, j) : FloatVector.zero(S);
    }
}
