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
