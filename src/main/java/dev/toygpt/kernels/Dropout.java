package dev.toygpt.kernels;

/**
 * Dropout masks drawn from a seed and each element's index (a counter-based generator): element i is
 * dropped when a hash of (seed, i) falls below p. Any part of a mask can be drawn on its own, so threads
 * share the work, the mask does not depend on how they share it, and the backward pass draws the same mask
 * again from the seed alone instead of keeping it.
 */
public final class Dropout {
    private Dropout() {}

    /** mask[0..n) = 0 (dropped, probability p) or 1/(1-p) (kept). */
    public static void mask(float[] mask, int n, float p, long seed) {
        if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        float keep = 1f / (1f - p);
        int threshold = (int) Math.ceil(p * (double) (1 << 24)); // dropped when the 24-bit draw is below it
        Parallel.forRange(n, 16, (start, end) -> {
            for (int i = start; i < end; i++) {
                int draw = (int) (mix(seed + (i + 1L) * 0x9E3779B97F4A7C15L) >>> 40);
                int kept = (threshold - 1 - draw) >>> 31; // 1 when draw >= threshold, without a branch to mispredict
                mask[i] = kept * keep;
            }
        });
    }

    /**
     * The part of {@link #mask} that causal attention reads: rows of (B, H, T, T) weights, where row r is
     * query t = r % time and only its keys s <= t can be kept. Those elements get the same values as in
     * mask(mask, rows * time, p, seed); the rest, never used, are 0. Half the draws of the whole mask.
     */
    public static void causalMask(float[] mask, int rows, int time, float p, long seed) {
        if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        float keep = 1f / (1f - p);
        int threshold = (int) Math.ceil(p * (double) (1 << 24));
        Parallel.forRange(rows, 8L * time, (start, end) -> {
            for (int r = start; r < end; r++) {
                int row = r * time, t = r % time;
                for (int i = row; i <= row + t; i++) {
                    int draw = (int) (mix(seed + (i + 1L) * 0x9E3779B97F4A7C15L) >>> 40);
                    mask[i] = ((threshold - 1 - draw) >>> 31) * keep;
                }
                java.util.Arrays.fill(mask, row + t + 1, row + time, 0f);
            }
        });
    }

    /**
     * Multiplies x[off + j], j < n, by element first + j of the mask drawn from seed (the same values as
     * {@link #mask}): how attention drops its weights without a mask array, in the forward pass and again,
     * drawing the same values, in the backward pass.
     */
    static void applyRow(float[] x, int off, int n, float p, long seed, long first) {
        float keep = 1f / (1f - p);
        int threshold = (int) Math.ceil(p * (double) (1 << 24));
        for (int j = 0; j < n; j++) {
            int draw = (int) (mix(seed + (first + j + 1L) * 0x9E3779B97F4A7C15L) >>> 40);
            x[off + j] *= ((threshold - 1 - draw) >>> 31) * keep;
        }
    }

    /** Writes elements first .. first + n of the mask drawn from seed into x[off ..]. */
    static void maskRow(float[] x, int off, int n, float p, long seed, long first) {
        java.util.Arrays.fill(x, off, off + n, 1f);
        applyRow(x, off, n, p, seed, first);
    }

    /** SplitMix64's finaliser: every bit of the result depends on every bit of z. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
