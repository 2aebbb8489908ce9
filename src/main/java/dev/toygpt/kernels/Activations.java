package dev.toygpt.kernels;

/** Element-wise activation functions and their derivatives. */
public final class Activations {
    private Activations() {}

    /** y = max(x, slope * x); slope 0 is ReLU, 0.01 is PyTorch's default LeakyReLU. */
    public static void leakyRelu(float[] x, float[] y, float slope) {
        Vec.leakyRelu(x, y, slope);
    }

    /** dx += dy * (x > 0 ? 1 : slope). */
    public static void leakyReluBackward(float[] x, float[] dy, float[] dx, float slope) {
        Vec.leakyReluBackward(x, dy, dx, slope);
    }
}
