package dev.toygpt.kernels;

/**
 * Causal self-attention for training that never keeps the (B, H, T, T) attention weights: the same result as
 * {@link Attention#forward} and {@link Attention#backward} (read those first: they are the plain version, and
 * the tests compare this one against them), computed the way FlashAttention does it.
 *
 * <p>The weights of a head are made, used and forgotten a few query rows at a time, in scratch arrays of the
 * thread that runs the head. Forward keeps only each query row's softmax maximum and 1 / sum (two floats per
 * row instead of T); backward computes the scores again, and from them and those two numbers the same weights,
 * bit for bit. Dropout on the weights is drawn where it is used, from the seed and each weight's index in the
 * (B, H, T, T) array ({@link Dropout#applyRow}): the same values {@link Dropout#causalMask} would have put
 * there, again in backward, so no mask is kept either. At the lecture's size that is 100 MB of weights and
 * 100 MB of mask per layer that never reach memory, for one more product (q kᵀ) in backward.
 */
public final class FlashAttention {
    private FlashAttention() {}

    /** Floats that forward keeps per layer for backward (its rowStats array): two per (batch, head, query). */
    public static int statsSize(int batch, int time, int heads) {
        return 2 * batch * heads * time;
    }

    /**
     * out = softmax(q kᵀ / sqrt(hs), causal) v per head, with dropout p on the weights drawn from dropSeed.
     *
     * @param rowStats statsSize(...) floats that receive each query row's softmax maximum and 1 / sum, for
     *                 {@link #backward}; null when no backward pass follows
     */
    public static void forward(float[] q, float[] k, float[] v, float[] out, float[] rowStats, float dropout, long dropSeed,
                               int batch, int time, int channels, int heads) {
        checkDropout(dropout);
        int hs = channels / heads;
        float scale = (float) (1.0 / Math.sqrt(hs));
        if (MatMul.SIMD) {
            Parallel.forRange(batch * heads, (long) time * time * hs * 2, (start, end) -> {
                int tPad = SimdAttention.paddedTime(time);
                float[] kt = new float[hs * tPad], scores = new float[SimdAttention.GROUP * tPad], lanes = new float[SimdAttention.L];
                for (int bh = start; bh < end; bh++) {
                    int base = (bh / heads) * time * channels + (bh % heads) * hs;
                    SimdAttention.flashForwardHead(q, k, v, out, rowStats, bh * time * 2, dropout, dropSeed,
                            (long) bh * time * time, base, time, channels, hs, scale, kt, scores, lanes);
                }
            });
            return;
        }
        Parallel.forRange(batch * heads, (long) time * time * hs * 2, (start, end) -> {
            float[] w = new float[time];
            for (int bh = start; bh < end; bh++) {
                int base = (bh / heads) * time * channels + (bh % heads) * hs;
                for (int t = 0; t < time; t++) {
                    int qOff = base + t * channels;
                    weightsRow(q, k, qOff, base, channels, hs, t, scale, w, rowStats, bh * time * 2 + 2 * t, false);
                    if (dropout != 0f) Dropout.applyRow(w, 0, t + 1, dropout, dropSeed, (long) bh * time * time + (long) t * time);
                    java.util.Arrays.fill(out, qOff, qOff + hs, 0f);
                    for (int s = 0; s <= t; s++) {
                        if (w[s] != 0f) Vec.axpy(w[s], v, base + s * channels, out, qOff, hs);
                    }
                }
            }
        });
    }

    /** Accumulates dq, dk, dv (any may be null) from dOut, given the rowStats forward kept and the same dropout. */
    public static void backward(float[] q, float[] k, float[] v, float[] rowStats, float dropout, long dropSeed, float[] dOut,
                                float[] dq, float[] dk, float[] dv, int batch, int time, int channels, int heads) {
        checkDropout(dropout);
        int hs = channels / heads;
        float scale = (float) (1.0 / Math.sqrt(hs));
        if (MatMul.SIMD) {
            Parallel.forRange(batch * heads, (long) time * time * hs * 5, (start, end) -> {
                int tPad = SimdAttention.paddedTime(time);
                float[] kt = new float[hs * tPad], vt = new float[hs * tPad];
                float[] scores = new float[SimdAttention.GROUP * tPad], dw = new float[SimdAttention.GROUP * tPad];
                // (T, T) for one head at a time, plus room for the last row's whole vectors
                float[] ds = new float[time * time + tPad], dropped = new float[time * time + tPad], mask = new float[tPad + SimdAttention.L];
                for (int bh = start; bh < end; bh++) {
                    int base = (bh / heads) * time * channels + (bh % heads) * hs;
                    SimdAttention.flashBackwardHead(q, k, v, dOut, dq, dk, dv, rowStats, bh * time * 2, dropout, dropSeed,
                            (long) bh * time * time, base, time, channels, hs, scale, kt, vt, scores, dw, ds, dropped, mask);
                }
            });
            return;
        }
        Parallel.forRange(batch * heads, (long) time * time * hs * 5, (start, end) -> {
            float[] w = new float[time], dw = new float[time], mask = new float[time];
            for (int bh = start; bh < end; bh++) {
                int base = (bh / heads) * time * channels + (bh % heads) * hs;
                for (int t = 0; t < time; t++) {
                    int oOff = base + t * channels;
                    weightsRow(q, k, oOff, base, channels, hs, t, scale, w, rowStats, bh * time * 2 + 2 * t, true);
                    if (dropout != 0f) Dropout.maskRow(mask, 0, t + 1, dropout, dropSeed, (long) bh * time * time + (long) t * time);
                    // as in Attention.backward, with the weights just computed instead of saved ones
                    float dot = 0f;
                    for (int s = 0; s <= t; s++) {
                        int vOff = base + s * channels;
                        float keep = dropout == 0f ? 1f : mask[s];
                        float g = 0f;
                        for (int d = 0; d < hs; d++) g += dOut[oOff + d] * v[vOff + d];
                        if (dv != null && w[s] * keep != 0f) Vec.axpy(w[s] * keep, dOut, oOff, dv, vOff, hs);
                        g *= keep;
                        dw[s] = g;
                        dot += g * w[s];
                    }
                    for (int s = 0; s <= t; s++) {
                        float ds = w[s] * (dw[s] - dot) * scale;
                        if (ds == 0f) continue;
                        int kOff = base + s * channels;
                        if (dq != null) Vec.axpy(ds, k, kOff, dq, oOff, hs);
                        if (dk != null) Vec.axpy(ds, q, oOff, dk, kOff, hs);
                    }
                }
            }
        });
    }

    /**
     * w[0..t] = softmax over s <= t of (q_t · k_s) * scale. Forward (again = false) stores the row's maximum and
     * 1 / sum in stats; backward (again = true) uses the stored ones, which gives the forward's weights exactly.
     */
    private static void weightsRow(float[] q, float[] k, int qOff, int base, int channels, int hs, int t, float scale,
                                   float[] w, float[] stats, int statsOff, boolean again) {
        for (int s = 0; s <= t; s++) {
            int kOff = base + s * channels;
            float dot = 0f;
            for (int d = 0; d < hs; d++) dot += q[qOff + d] * scale * k[kOff + d]; // in Attention.forward's order
            w[s] = dot;
        }
        float max = Float.NEGATIVE_INFINITY, inv;
        if (again) {
            max = stats[statsOff];
            inv = stats[statsOff + 1];
            for (int s = 0; s <= t; s++) w[s] = (float) Math.exp(w[s] - max);
        } else {
            for (int s = 0; s <= t; s++) max = Math.max(max, w[s]);
            float sum = 0f;
            for (int s = 0; s <= t; s++) sum += w[s] = (float) Math.exp(w[s] - max);
            inv = 1f / sum;
            if (stats != null) {
                stats[statsOff] = max;
                stats[statsOff + 1] = inv;
            }
        }
        for (int s = 0; s <= t; s++) w[s] *= inv;
    }

    private static void checkDropout(float p) {
        if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
    }
}
