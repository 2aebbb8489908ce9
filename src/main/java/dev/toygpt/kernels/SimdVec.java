package dev.toygpt.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** The Vector API versions of {@link Vec}'s loops; loaded only when the module is present. */
final class SimdVec {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private SimdVec() {}

    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        FloatVector acc = FloatVector.zero(S);
        for (; i + L <= n; i += L) {
            acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
        }
        // Sum the lanes in a fixed order: reduceLanes adds them in a different order when the JIT has
        // compiled it than when it has not, which would make results depend on the JIT's timing.
        float[] lanes = new float[L];
        acc.intoArray(lanes, 0);
        float s = 0f;
        for (int j = 0; j < L; j++) s += lanes[j];
        for (; i < n; i++) s += a[aOff + i] * b[bOff + i];
        return s;
    }

    /** Floats per vector. */
    static int lanes() {
        return L;
    }

    /**
     * lanes[at ..+ L) added as a tree, the upper half to the lower until one lane is left: a fixed order, so
     * the same float whether or not the JIT has compiled the code (reduceLanes's order changes when it does),
     * and four additions deep on AVX-512 instead of sixteen in a row. A LayerNorm row's two sums and a softmax
     * row's total are each a step every later one waits for, some thirty of them in a generated token.
     */
    static float laneSum(float[] lanes, int at) {
        if (L == 16) {
            float a0 = lanes[at] + lanes[at + 8], a1 = lanes[at + 1] + lanes[at + 9], a2 = lanes[at + 2] + lanes[at + 10],
                    a3 = lanes[at + 3] + lanes[at + 11], a4 = lanes[at + 4] + lanes[at + 12], a5 = lanes[at + 5] + lanes[at + 13],
                    a6 = lanes[at + 6] + lanes[at + 14], a7 = lanes[at + 7] + lanes[at + 15];
            float b0 = a0 + a4, b1 = a1 + a5, b2 = a2 + a6, b3 = a3 + a7;
            return (b0 + b2) + (b1 + b3);
        }
        if (L == 8) {
            float b0 = lanes[at] + lanes[at + 4], b1 = lanes[at + 1] + lanes[at + 5], b2 = lanes[at + 2] + lanes[at + 6],
                    b3 = lanes[at + 3] + lanes[at + 7];
            return (b0 + b2) + (b1 + b3);
        }
        if (L == 4) return (lanes[at] + lanes[at + 2]) + (lanes[at + 1] + lanes[at + 3]);
        float[] t = java.util.Arrays.copyOfRange(lanes, at, at + L); // other widths (none in use): the same tree, in a copy
        for (int half = L / 2; half >= 1; half /= 2) {
            for (int i = 0; i < half; i++) t[i] += t[i + half];
        }
        return t[0];
    }

    static float max(float[] a, int off, int n) {
        int i = 0;
        FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (; i + L <= n; i += L) m = m.max(FloatVector.fromArray(S, a, off + i));
        float max = m.reduceLanes(VectorOperators.MAX); // the exact maximum whatever the order
        for (; i < n; i++) max = Math.max(max, a[off + i]);
        return max;
    }

    static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        FloatVector va = FloatVector.broadcast(S, alpha);
        for (; i + L <= n; i += L) {
            va.fma(FloatVector.fromArray(S, x, xOff + i), FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }

    static void leakyRelu(float[] x, float[] y, int from, int to, float slope) {
        int i = from;
        for (; i + L <= to; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            VectorMask<Float> negative = v.compare(VectorOperators.LE, 0f);
            v.blend(v.mul(slope), negative).intoArray(y, i);
        }
        for (; i < to; i++) y[i] = x[i] > 0f ? x[i] : x[i] * slope;
    }

    static void leakyReluBackward(float[] x, float[] dy, float[] dx, float slope) {
        int i = 0, n = x.length;
        for (; i + L <= n; i += L) {
            VectorMask<Float> negative = FloatVector.fromArray(S, x, i).compare(VectorOperators.LE, 0f);
            FloatVector g = FloatVector.fromArray(S, dy, i);
            g.blend(g.mul(slope), negative).add(FloatVector.fromArray(S, dx, i)).intoArray(dx, i);
        }
        for (; i < n; i++) dx[i] += x[i] > 0f ? dy[i] : dy[i] * slope;
    }
}
