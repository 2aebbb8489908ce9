package dev.toygpt.kernels;

/** Element-wise activation functions and their derivatives. */
public final class Activations {
    private Activations() {}

    /** y = max(x, slope * x); slope 0 is ReLU, 0.01 is PyTorch's default LeakyReLU. */
    public static void leakyRelu(float[] x, float[] y, float slope) {
        for (int i = 0; i < x.length; i++) {
            float v = x[i];
            y[i] = v > 0f ? v : v * slope;
        }
    }

    /** dx += dy * (x > 0 ? 1 : slope). */
    public static void leakyReluBackward(float[] x, float[] dy, float[] dx, float slope) {
        for (int i = 0; i < x.length; i++) {
            dx[i] += x[i] > 0f ? dy[i] : dy[i] * slope;
        }
    }
}
