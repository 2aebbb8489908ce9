package dev.toygpt.kernels;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import static jdk.incubator.vector.VectorOperators.FMA;

/**
 * e^x in SIMD registers for cross-entropy, with exactly the floats of {@code (float) Math.exp}, and for the
 * sampler's softmax, within 2^-48 of Math.exp's doubles: Math.exp, one value at a time, was most of their
 * time. (Attention, in training and in generation, uses {@link SimdAttention}'s float exponential instead,
 * which is not exact but much cheaper.)
 *
 * <p>How it can be exact: e^d is computed in double to within 2^-48 of itself (d = n ln2 + r with |r| about
 * ln2/2 or less, e^r by its Taylor series to r^12, times 2^n). Math.exp is within one double ulp (2^-52)
 * of e^d by its specification. Both therefore lie in y (1 ± 2^-40); when both ends of that interval round
 * to the same float, so does Math.exp's result, since rounding to float is monotonic. When they do not
 * (about one value in 2^16), or e^d is below the normal floats, Math.exp decides.
 */
final class SimdExp {
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final int L = D.length();
    private static final double LOG2E = 1.4426950408889634;
    private static final double LN2_HI = 6.93147180369123816490e-01; // ln 2 = LN2_HI + LN2_LO
    private static final double LN2_LO = 1.90821492927058770002e-10;
    /** Adding it rounds a double below 2^51 to an integer, which then sits in the low bits. */
    private static final double SHIFT = 0x1.8p52;
    private static final double DELTA = 0x1p-40;
    /** Below this e^d is not a normal float; Math.exp handles it. */
    private static final double LOWEST = -87.0;
    /** Per thread: room for {@link #expInPlace}'s exponentials. */
    private static final ThreadLocal<double[]> SCRATCH = ThreadLocal.withInitial(() -> new double[0]);

    private SimdExp() {}

    /** x[i] = e^x[i] for i < n, within 2^-48 for x[i] in [LOWEST, 0], Math.exp below; x holds {@link #room}(n). */
    static void expInPlace(double[] x, int n) {
        double[] y = SCRATCH.get();
        if (y.length < room(n)) SCRATCH.set(y = new double[room(n)]);
        exp(x, y, n);
        for (int i = 0; i < n; i++) x[i] = x[i] >= LOWEST ? y[i] : Math.exp(x[i]); // NaN too goes to Math.exp
    }

    /** n rounded up to whole vectors of doubles. */
    static int room(int n) {
        return (n + L - 1) / L * L;
    }

    /**
     * y[j] = e^d[j] within 2^-48 for d[j] in [LOWEST, 88]; d and y hold n rounded up to whole vectors. The
     * constants go in as scalars of lanewise(FMA, ...), not through a helper method that broadcasts them:
     * JDK 25's C2, compiling this loop into a caller whose profile saw it run little, left such a helper out of
     * line ("low call site frequency"), and every vector it returned was then a heap object (75 MB a step of
     * baby, exp 4x slower). Broadcasting in place instead made the method too big to inline into the softmax
     * (over 325 bytes), which then ran it in profiled C1 code for seconds.
     */
    static void exp(double[] d, double[] y, int n) {
        for (int j = 0; j < n; j += L) {
            DoubleVector v = DoubleVector.fromArray(D, d, j);
            DoubleVector t = v.mul(LOG2E).add(SHIFT), k = t.sub(SHIFT); // k = nearest integer to d log2(e)
            DoubleVector r = k.lanewise(FMA, -LN2_HI, v); // v - k ln2 in two parts, each fused
            r = k.lanewise(FMA, -LN2_LO, r);
            DoubleVector p = DoubleVector.broadcast(D, 1.0 / 479001600); // 1/12!, then Horner down to 1
            p = p.lanewise(FMA, r, 1.0 / 39916800);
            p = p.lanewise(FMA, r, 1.0 / 3628800);
            p = p.lanewise(FMA, r, 1.0 / 362880);
            p = p.lanewise(FMA, r, 1.0 / 40320);
            p = p.lanewise(FMA, r, 1.0 / 5040);
            p = p.lanewise(FMA, r, 1.0 / 720);
            p = p.lanewise(FMA, r, 1.0 / 120);
            p = p.lanewise(FMA, r, 1.0 / 24);
            p = p.lanewise(FMA, r, 1.0 / 6);
            p = p.lanewise(FMA, r, 0.5);
            p = p.lanewise(FMA, r, 1.0);
            p = p.lanewise(FMA, r, 1.0);
            // 2^k: k sits in t's low bits; k + 1023 shifted into the exponent field
            LongVector bits = t.viewAsIntegralLanes().reinterpretAsLongs().add(1023L).lanewise(VectorOperators.LSHL, 52);
            p.mul(bits.viewAsFloatingLanes().reinterpretAsDoubles()).intoArray(y, j);
        }
    }

    /**
     * Cross-entropy's exponentials: out[r n + j] = (float) Math.exp(logits[r n + j] - max_r) for the rows r0 .. r1,
     * with max_r, the row's largest logit, in maxes[r - r0]. {@link #exp} written out inside the loop over rows
     * rather than called once per row: the rows' loop (once per step and thread) is compiled while it runs, and
     * exp, called from it tens of thousands of times before that, had been compiled on its own by the quick
     * compiler (which boxes every vector) when the machine kept the optimising compiler's queue long; once rows
     * was optimised it called that big compiled exp instead of inlining it, and on JDK 25 exp stayed there
     * (the lecture: 228 MB allocated and about 0.3 s more per step). The same operations as exp, constants as scalars.
     */
    static void expRows(float[] logits, float[] out, float[] maxes, int r0, int r1, int n) {
        int padded = (n + L - 1) / L * L;
        double[] d = new double[padded], y = new double[padded];
        for (int r = r0; r < r1; r++) {
            int off = r * n;
            float max = Vec.max(logits, off, n);
            maxes[r - r0] = max;
            for (int j = 0; j < n; j++) d[j] = logits[off + j] - max;
            for (int j = 0; j < n; j += L) { // as exp(d, y, n)
                DoubleVector v = DoubleVector.fromArray(D, d, j);
                DoubleVector t = v.mul(LOG2E).add(SHIFT), k = t.sub(SHIFT);
                DoubleVector r2 = k.lanewise(FMA, -LN2_HI, v);
                r2 = k.lanewise(FMA, -LN2_LO, r2);
                DoubleVector p = DoubleVector.broadcast(D, 1.0 / 479001600);
                p = p.lanewise(FMA, r2, 1.0 / 39916800);
                p = p.lanewise(FMA, r2, 1.0 / 3628800);
                p = p.lanewise(FMA, r2, 1.0 / 362880);
                p = p.lanewise(FMA, r2, 1.0 / 40320);
                p = p.lanewise(FMA, r2, 1.0 / 5040);
                p = p.lanewise(FMA, r2, 1.0 / 720);
                p = p.lanewise(FMA, r2, 1.0 / 120);
                p = p.lanewise(FMA, r2, 1.0 / 24);
                p = p.lanewise(FMA, r2, 1.0 / 6);
                p = p.lanewise(FMA, r2, 0.5);
                p = p.lanewise(FMA, r2, 1.0);
                p = p.lanewise(FMA, r2, 1.0);
                LongVector bits = t.viewAsIntegralLanes().reinterpretAsLongs().add(1023L).lanewise(VectorOperators.LSHL, 52);
                p.mul(bits.viewAsFloatingLanes().reinterpretAsDoubles()).intoArray(y, j);
            }
            for (int j = 0; j < n; j++) out[off + j] = toFloat(d[j], y[j]);
        }
    }

    /** (float) Math.exp(d), given y = e^d within 2^-48 (see the class comment). */
    static float toFloat(double d, double y) {
        if (d >= LOWEST && d <= 88.0) {
            float lo = (float) (y - y * DELTA), hi = (float) (y + y * DELTA);
            if (lo == hi) return lo;
        }
        return (float) Math.exp(d);
    }
}
