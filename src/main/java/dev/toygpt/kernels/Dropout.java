package dev.toygpt.kernels;

/**
 * Dropout masks drawn from a seed and each element's index (a counter-based generator). Any part of a mask can
 * be drawn on its own, so threads share the work, the mask does not depend on how they share it, and the
 * backward pass draws the same mask again from the seed alone instead of keeping it.
 *
 * <p>Element i is dropped when its 16-bit draw falls below round-up(p * 2^16): the draws of elements 4j to 4j+3
 * are the four 16-bit quarters (lowest first) of one 64-bit hash of (seed, j), so one hash serves four elements.
 * The probability of dropping is p to within 2^-16 (0.2 drops with probability 13108 / 65536 = 0.20001); kept
 * elements are scaled by exactly 1 / (1 - p).
 */
public final class Dropout {
    private Dropout() {}

    /** Whether the draws go a vector at a time ({@link SimdDropout}): the same draws, the same mask. */
    private static final boolean SIMD = MatMul.SIMD && SimdDropout.ENABLED;

    /** Draws of 16 bits: 2^16 of them. */
    private static final int RESOLUTION = 1 << 16;

    /** Elements whose draw is below this are dropped. */
    static int threshold(float p) {
        if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        return (int) Math.ceil(p * (double) RESOLUTION);
    }

    /** mask[0..n) = 0 (dropped, probability p) or 1/(1-p) (kept). */
    public static void mask(float[] mask, int n, float p, long seed) {
        int threshold = threshold(p);
        float keep = 1f / (1f - p);
        Parallel.forRange(n, 8, (start, end) -> {
            java.util.Arrays.fill(mask, start, end, keep);
            applyRow(mask, start, end - start, threshold, seed, start);
        });
    }

    /** y[0..n) = x[0..n) times the mask drawn from seed (the same values as {@link #mask}), without a mask array. */
    public static void apply(float[] x, float[] y, int n, float p, long seed) {
        int threshold = threshold(p);
        float keep = 1f / (1f - p);
        Parallel.forRange(n, 8, (start, end) -> scaleRow(x, start, y, start, end - start, keep, threshold, seed, start));
    }

    /** dx[0..n) += d[0..n) times the mask drawn from seed: {@link #apply}'s backward pass. */
    public static void addApplied(float[] d, float[] dx, int n, float p, long seed) {
        int threshold = threshold(p);
        float keep = 1f / (1f - p);
        Parallel.forRange(n, 10, (start, end) -> {
            int i = start;
            if (SIMD) {
                for (; i < end && (i & 3) != 0; i++) {
                    if (quarter(hash(seed, i >>> 2), i & 3) >= threshold) dx[i] += d[i] * keep;
                }
                i = SimdDropout.addApplied(d, dx, i, end, threshold, keep, seed);
            }
            // four elements per hash, as applyRow draws them, with the first and last hashes partly used
            long word = 0;
            for (int from = i; i < end; i++) {
                if (i == from || (i & 3) == 0) word = hash(seed, i >>> 2);
                if (quarter(word, i & 3) >= threshold) dx[i] += d[i] * keep;
            }
        });
    }

    /**
     * The part of {@link #mask} that causal attention reads: rows of (B, H, T, T) weights, where row r is
     * query t = r % time and only its keys s <= t can be kept. Those elements get the same values as in
     * mask(mask, rows * time, p, seed); the rest, never used, are 0. Half the draws of the whole mask.
     */
    public static void causalMask(float[] mask, int rows, int time, float p, long seed) {
        int threshold = threshold(p);
        float keep = 1f / (1f - p);
        Parallel.forRange(rows, 4L * time, (start, end) -> {
            for (int r = start; r < end; r++) {
                int row = r * time, t = r % time;
                java.util.Arrays.fill(mask, row, row + t + 1, keep);
                applyRow(mask, row, t + 1, threshold, seed, row);
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
        scaleRow(x, off, x, off, n, 1f / (1f - p), threshold(p), seed, first);
    }

    /**
     * y[yOff + j] = x[xOff + j] * keep, or +0 where element first + j is dropped, for j < n (x and y may be the
     * same row). With SIMD the multiply and the draws go in one pass; the same values either way.
     */
    private static void scaleRow(float[] x, int xOff, float[] y, int yOff, int n, float keep, int threshold, long seed, long first) {
        if (!SIMD) {
            for (int j = 0; j < n; j++) y[yOff + j] = x[xOff + j] * keep;
            applyRow(y, yOff, n, threshold, seed, first);
            return;
        }
        int j = 0;
        for (; j < n && ((first + j) & 3) != 0; j++) y[yOff + j] = keepIf(x[xOff + j] * keep, draw(seed, first + j), threshold);
        j += SimdDropout.scaleRow(x, xOff + j, y, yOff + j, n - j, keep, threshold, seed, first + j);
        for (; j < n; j++) y[yOff + j] = keepIf(x[xOff + j] * keep, draw(seed, first + j), threshold);
    }

    /** Element e's 16-bit draw: quarter e % 4 of hash e / 4. */
    private static int draw(long seed, long e) {
        return quarter(hash(seed, e >>> 2), (int) e & 3);
    }

    /** Writes elements first .. first + n of the mask drawn from seed into x[off ..]. */
    static void maskRow(float[] x, int off, int n, float p, long seed, long first) {
        java.util.Arrays.fill(x, off, off + n, 1f / (1f - p));
        applyRow(x, off, n, threshold(p), seed, first);
    }

    /** Zeroes x[off + j], j < n, where element first + j is dropped; leaves the kept ones as they are. */
    private static void applyRow(float[] x, int off, int n, int threshold, long seed, long first) {
        int j = 0;
        // the hash whose quarters first .. up to the next multiple of 4 take
        for (; j < n && ((first + j) & 3) != 0; j++) {
            if (quarter(hash(seed, (first + j) >>> 2), (int) (first + j) & 3) < threshold) x[off + j] = 0f;
        }
        if (SIMD) j += SimdDropout.applyRow(x, off + j, n - j, threshold, seed, first + j);
        for (; j + 4 <= n; j += 4) {
            long word = hash(seed, (first + j) >>> 2);
            // branch-free: (draw - threshold) >> 31 is -1 (dropped) or 0; the float's bits are masked to zero
            x[off + j] = keepIf(x[off + j], (int) word & 0xFFFF, threshold);
            x[off + j + 1] = keepIf(x[off + j + 1], (int) (word >>> 16) & 0xFFFF, threshold);
            x[off + j + 2] = keepIf(x[off + j + 2], (int) (word >>> 32) & 0xFFFF, threshold);
            x[off + j + 3] = keepIf(x[off + j + 3], (int) (word >>> 48), threshold);
        }
        for (; j < n; j++) {
            if (quarter(hash(seed, (first + j) >>> 2), (int) (first + j) & 3) < threshold) x[off + j] = 0f;
        }
    }

    /** v, or +0 when the draw is below the threshold. */
    private static float keepIf(float v, int draw, int threshold) {
        int bits = Float.floatToRawIntBits(v) & ~((draw - threshold) >> 31);
        return Float.intBitsToFloat(bits);
    }

    private static int quarter(long word, int q) {
        return (int) (word >>> (q << 4)) & 0xFFFF;
    }

    /** The 64 bits that elements 4j .. 4j+3 draw from. */
    private static long hash(long seed, long j) {
        return mix(seed + (j + 1L) * 0x9E3779B97F4A7C15L);
    }

    /** SplitMix64's finaliser: every bit of the result depends on every bit of z. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
