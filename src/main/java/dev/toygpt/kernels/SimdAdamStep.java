package dev.toygpt.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** {@link AdamStep} on whole vectors; loaded only when the Vector API module is present. */
final class SimdAdamStep {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private SimdAdamStep() {}

    /** Updates the elements of [from, to) before the last whole vector; returns where the scalar loop goes on. */
    static int update(float[] p, float[] g, float[] m, float[] v, int from, int to, float beta1, float beta2, float eps,
                      float stepSize, float bias2Sqrt, float decay, float l2) {
        float oneMinusBeta1 = 1 - beta1, oneMinusBeta2 = 1 - beta2;
        int i = from;
        for (; i + L <= to; i += L) {
            FloatVector pi = FloatVector.fromArray(S, p, i);
            FloatVector gi = FloatVector.fromArray(S, g, i).add(pi.mul(l2));
            pi = pi.mul(decay);
            FloatVector mi = FloatVector.fromArray(S, m, i).mul(beta1).add(gi.mul(oneMinusBeta1));
            FloatVector vi = FloatVector.fromArray(S, v, i).mul(beta2).add(gi.mul(oneMinusBeta2).mul(gi));
            FloatVector denom = vi.lanewise(VectorOperators.SQRT).div(bias2Sqrt).add(eps);
            pi.sub(mi.mul(stepSize).div(denom)).intoArray(p, i);
            mi.intoArray(m, i);
            vi.intoArray(v, i);
        }
        return i;
    }
}
