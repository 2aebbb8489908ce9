package dev.toygpt.kernels;

/** Element-wise activation functions and their derivatives. */
public final class Activations {
    private Activations() {}

    /** y = max(x, slope * x); slope 0 is ReLU, 0.01 is PyTorch's default LeakyReLU. */
    public static void leakyRelu(float[] x, float[] y, float slope) {
        Elementwise.leakyRelu(x, y, slope);
    }

    /**
     * ReLU's backward pass from its output y, in place: dy(rows, n) stays where y > 0 and becomes 0 elsewhere;
     * dBias, when not null, gets (or, with accumulate, adds) the column sums of the result.
     */
    public static void reluBackwardInPlace(float[] y, float[] dy, int rows, int n, float[] dBias, boolean accumulate) {
        Elementwise.reluBackwardInPlace(y, dy, rows, n, dBias, accumulate);
    }

    /** dx += dy * (x > 0 ? 1 : slope). */
    public static void leakyReluBackward(float[] x, float[] dy, float[] dx, float slope) {
        Vec.leakyReluBackward(x, dy, dx, slope);
    }
}
