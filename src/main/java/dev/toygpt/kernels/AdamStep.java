package dev.toygpt.kernels;

/**
 * One Adam / AdamW update of a parameter array, in a single pass over the parameter, its gradient and the
 * two running moments (torch.optim.Adam's and AdamW's rule). The SIMD version does the same float
 * operations in the same order on a vector of elements at a time, so the two give identical results.
 */
public final class AdamStep {
    private AdamStep() {}

    /**
     * For each i: g' = g + l2 p; p *= decay; m = beta1 m + (1 - beta1) g'; v = beta2 v + (1 - beta2) g'^2;
     * p -= stepSize m / (sqrt(v) / bias2Sqrt + eps).
     */
    public static void update(float[] p, float[] g, float[] m, float[] v, float beta1, float beta2, float eps,
                              float stepSize, float bias2Sqrt, float decay, float l2) {
        update(p, g, m, v, 0, p.length, beta1, beta2, eps, stepSize, bias2Sqrt, decay, l2);
    }

    /** The same update of elements [from, to) only: each element's result does not depend on the range. */
    public static void update(float[] p, float[] g, float[] m, float[] v, int from, int to, float beta1, float beta2,
                              float eps, float stepSize, float bias2Sqrt, float decay, float l2) {
        int i = MatMul.SIMD ? SimdAdamStep.update(p, g, m, v, from, to, beta1, beta2, eps, stepSize, bias2Sqrt, decay, l2) : from;
        for (; i < to; i++) {
            float gi = g[i] + l2 * p[i];
            p[i] *= decay;
            m[i] = beta1 * m[i] + (1 - beta1) * gi;
            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
            float denom = (float) Math.sqrt(v[i]) / bias2Sqrt + eps;
            p[i] -= stepSize * m[i] / denom;
        }
    }
}
