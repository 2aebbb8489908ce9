package dev.toygpt.kernels;

/**
 * Causal multi-head self-attention, all heads of a layer in one pass.
 *
 * <p>q, k and v are (B, T, C) with head h in columns [h*hs, (h+1)*hs), hs = C / H. For every batch row b,
 * head h and position t: {@code w = softmax over s<=t of (q_t · k_s) / sqrt(hs)}, then
 * {@code out_t = sum over s of w_s v_s}. Positions s > t get weight 0: that is the causal mask. The output
 * keeps the same layout, which is the concatenation of the heads in order.
 *
 * <p>This is the plain version, which keeps the (B, H, T, T) weights for backward. Training at long sequences
 * runs {@link FlashAttention} instead, which gives the same values without keeping them.
 */
public final class Attention {
    private Attention() {}

    /**
     * @param att      (B, H, T, T) receives the attention weights after softmax, kept for backward; null when
     *                 no backward pass follows: then only one head's (T, T) weights exist at a time, per thread
     * @param dropMask (B, H, T, T) dropout multipliers (0 or 1/(1-p)) applied to the weights, or null
     */
    public static void forward(float[] q, float[] k, float[] v, float[] out, float[] att, float[] dropMask,
                               int batch, int time, int channels, int heads) {
        int hs = channels / heads;
        float scale = (float) (1.0 / Math.sqrt(hs));
        if (MatMul.SIMD) {
            Parallel.forRange(batch * heads, (long) time * time * hs * 2, (start, end) -> {
                int tPad = SimdAttention.paddedTime(time);
                float[] kt = new float[hs * tPad], scores = new float[SimdAttention.GROUP * tPad];
                float[] lanes = new float[SimdAttention.GROUP * (SimdAttention.L + 1)];
                for (int bh = start; bh < end; bh++) {
                    int base = (bh / heads) * time * channels + (bh % heads) * hs;
                    SimdAttention.forwardHead(q, k, v, out, att, dropMask, base, bh * time * time, time, channels, hs, scale, kt, scores, lanes);
                }
            });
            return;
        }
        Parallel.forRange(batch * heads, (long) time * time * hs * 2, (start, end) -> {
            float[] kt = new float[hs * time]; // this head's keys transposed: kt[d * time + s] = k_s[d]
            float[] weights = att != null ? att : new float[time * time];
            for (int bh = start; bh < end; bh++) {
                int b = bh / heads, h = bh % heads;
                int base = b * time * channels + h * hs; // (b, t=0, head h) in q/k/v/out
                int attBase = att != null ? bh * time * time : 0;
                transposeHead(k, base, channels, hs, time, kt);
                for (int t = 0; t < time; t++) {
                    int qOff = base + t * channels;
                    int row = attBase + t * time;
                    // scores of query t against keys 0..t (q_t · k_s, summed over d for all s at once), then softmax
                    java.util.Arrays.fill(weights, row, row + t + 1, 0f);
                    for (int d = 0; d < hs; d++) Vec.axpy(q[qOff + d] * scale, kt, d * time, weights, row, t + 1);
                    float max = Float.NEGATIVE_INFINITY;
                    for (int s = 0; s <= t; s++) max = Math.max(max, weights[row + s]);
                    float sum = 0f;
                    for (int s = 0; s <= t; s++) {
                        float e = (float) Math.exp(weights[row + s] - max);
                        weights[row + s] = e;
                        sum += e;
                    }
                    float inv = 1f / sum;
                    for (int s = 0; s <= t; s++) weights[row + s] *= inv;
                    for (int s = t + 1; s < time; s++) weights[row + s] = 0f; // masked: the future is not visible
                    // weighted sum of values
                    int oOff = base + t * channels;
                    for (int d = 0; d < hs; d++) out[oOff + d] = 0f;
                    for (int s = 0; s <= t; s++) {
                        float w = weights[row + s];
                        if (dropMask != null) w *= dropMask[row + s];
                        if (w != 0f) Vec.axpy(w, v, base + s * channels, out, oOff, hs);
                    }
                }
            }
        });
    }

    /** Accumulates dq, dk, dv (any may be null) from dOut, using the weights saved by forward. */
    public static void backward(float[] q, float[] k, float[] v, float[] att, float[] dropMask, float[] dOut,
                                float[] dq, float[] dk, float[] dv, int batch, int time, int channels, int heads) {
        backward(q, k, v, att, dropMask, dOut, dq, dk, dv, false, batch, time, channels, heads);
    }

    /**
     * {@link #backward}, where with overwrite dq, dk and dv come with any values and get the gradients written
     * rather than added: each (batch, head) zeroes its own columns first, on the thread that then adds into them,
     * instead of the whole arrays being zero-filled on the calling thread beforehand.
     */
    public static void backward(float[] q, float[] k, float[] v, float[] att, float[] dropMask, float[] dOut,
                                float[] dq, float[] dk, float[] dv, boolean overwrite, int batch, int time, int channels, int heads) {
        int hs = channels / heads;
        float scale = (float) (1.0 / Math.sqrt(hs));
        if (MatMul.SIMD) {
            Parallel.forRange(batch * heads, (long) time * time * hs * 4, (start, end) -> {
                int tPad = SimdAttention.paddedTime(time);
                float[] vt = new float[hs * tPad], dw = new float[SimdAttention.GROUP * tPad], lanes = new float[SimdAttention.L];
                // (T, T) for one head at a time, plus room for the last row's whole vectors
                float[] ds = new float[time * time + tPad], dropped = dropMask == null ? null : new float[time * time + tPad];
                for (int bh = start; bh < end; bh++) {
                    int base = (bh / heads) * time * channels + (bh % heads) * hs;
                    if (overwrite) zeroHead(base, time, channels, hs, dq, dk, dv);
                    SimdAttention.backwardHead(q, k, v, att, dropMask, dOut, dq, dk, dv, base, bh * time * time, time,
                            channels, hs, scale, vt, dw, ds, dropped, lanes);
                }
            });
            return;
        }
        Parallel.forRange(batch * heads, (long) time * time * hs * 4, (start, end) -> {
            float[] dw = new float[time]; // gradient of one row of attention weights
            float[] vt = new float[hs * time]; // this head's values transposed
            for (int bh = start; bh < end; bh++) {
                int b = bh / heads, h = bh % heads;
                int base = b * time * channels + h * hs;
                int attBase = bh * time * time;
                if (overwrite) zeroHead(base, time, channels, hs, dq, dk, dv);
                transposeHead(v, base, channels, hs, time, vt);
                for (int t = 0; t < time; t++) {
                    int oOff = base + t * channels;
                    int row = attBase + t * time;
                    // d weights (after dropout) = dOut_t · v_s for all s at once; d v_s += weight * dOut_t
                    java.util.Arrays.fill(dw, 0, t + 1, 0f);
                    for (int d = 0; d < hs; d++) Vec.axpy(dOut[oOff + d], vt, d * time, dw, 0, t + 1);
                    float dot = 0f;
                    for (int s = 0; s <= t; s++) {
                        int vOff = base + s * channels;
                        float g = dw[s];
                        float keep = dropMask == null ? 1f : dropMask[row + s];
                        float w = att[row + s];
                        if (dv != null && w * keep != 0f) Vec.axpy(w * keep, dOut, oOff, dv, vOff, hs);
                        g *= keep;
                        dw[s] = g;
                        dot += g * w;
                    }
                    // through the softmax: d score = w * (d w - sum(d w * w)), then through the scaled dot product
                    int qOff = base + t * channels;
                    for (int s = 0; s <= t; s++) {
                        float ds = att[row + s] * (dw[s] - dot) * scale;
                        if (ds == 0f) continue;
                        int kOff = base + s * channels;
                        if (dq != null) Vec.axpy(ds, k, kOff, dq, qOff, hs);
                        if (dk != null) Vec.axpy(ds, q, qOff, dk, kOff, hs);
                    }
                }
            }
        });
    }

    /** Rows of a transposed key cache: the block size rounded up so the SIMD kernel reads whole vectors. */
    public static int keyCacheStride(int blockSize) {
        return MatMul.SIMD ? SimdAttention.paddedTime(blockSize) : blockSize;
    }

    /**
     * Attention of new positions against a key/value cache (generation), one row per position, each row with
     * a cache of its own (the decoder's new token in this window, and in the next), heads [h0, h1) only (a
     * decoder thread's own heads). Row r's cache: keysT[r] holds the keys transposed, (C, stride) with
     * position s in column s (columns from positions[r] on are read but not used), values[r] is
     * (positions[r], C). Head h of row r reads its query at q[qOff[r] + h * hs ..] and writes its output at
     * out[outOff[r] + h * hs ..]; scores is scratch, rows * (h1 - h0) * stride floats; nothing else is written.
     */
    public static void decode(float[] q, int[] qOff, float[][] keysT, int stride, float[][] values, float[] out, int[] outOff,
                              float[] scores, int[] positions, int rows, int channels, int heads, int h0, int h1) {
        decode(q, qOff, keysT, stride, values, 0, out, outOff, scores, positions, rows, channels, heads, h0, h1);
    }

    /**
     * {@link #decode} with every cache's floats, and the scratch's, from index cacheStart on (the decoder starts
     * them on a cache line: {@link CacheLines}); scores then needs cacheStart more floats.
     */
    public static void decode(float[] q, int[] qOff, float[][] keysT, int stride, float[][] values, int cacheStart, float[] out,
                              int[] outOff, float[] scores, int[] positions, int rows, int channels, int heads, int h0, int h1) {
        if (MatMul.SIMD) {
            SimdAttention.decode(q, qOff, keysT, stride, values, cacheStart, out, outOff, scores, positions, rows, channels, heads, h0, h1);
            return;
        }
        int hs = channels / heads;
        float scale = (float) (1.0 / Math.sqrt(hs));
        for (int r = 0; r < rows; r++) {
            float[] k = keysT[r], v = values[r];
            int n = positions[r];
            for (int h = h0; h < h1; h++) {
                int off = h * hs, o = outOff[r] + off;
                for (int s = 0; s < n; s++) {
                    float dot = 0f;
                    for (int d = 0; d < hs; d++) dot += q[qOff[r] + off + d] * k[cacheStart + (off + d) * stride + s];
                    scores[s] = dot * scale;
                }
                Softmax.softmaxRow(scores, 0, scores, 0, n);
                java.util.Arrays.fill(out, o, o + hs, 0f);
                for (int s = 0; s < n; s++) Vec.axpy(scores[s], v, cacheStart + s * channels + off, out, o, hs);
            }
        }
    }

    /** Zeroes one (batch, head)'s columns, time rows of hs from base, in each of the arrays that is not null. */
    private static void zeroHead(int base, int time, int channels, int hs, float[]... grads) {
        for (float[] g : grads) {
            if (g == null) continue;
            for (int t = 0, off = base; t < time; t++, off += channels) java.util.Arrays.fill(g, off, off + hs, 0f);
        }
    }

    /** dst[d * time + s] = src[base + s * channels + d]: one head's rows as columns, so sums over d run along s. */
    private static void transposeHead(float[] src, int base, int channels, int hs, int time, float[] dst) {
        for (int s = 0; s < time; s++) {
            int off = base + s * channels;
            for (int d = 0; d < hs; d++) dst[d * time + s] = src[off + d];
        }
    }
}
