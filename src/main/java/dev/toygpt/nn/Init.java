package dev.toygpt.nn;

import dev.toygpt.util.Rng;

/** PyTorch's default parameter initialisations, so freshly built models start at the same scale. */
public final class Init {
    private Init() {}

    /** U(-bound, bound): nn.Linear uses bound = 1/sqrt(in_features) for weight and bias. */
    public static float[] uniform(int n, double bound, Rng rng) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        return out;
    }

    /** N(0, std²): nn.Embedding uses std 1. */
    public static float[] normal(int n, double std, Rng rng) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) (rng.nextGaussian() * std);
        return out;
    }

    public static float[] constant(int n, float value) {
        float[] out = new float[n];
        java.util.Arrays.fill(out, value);
        return out;
    }
}
