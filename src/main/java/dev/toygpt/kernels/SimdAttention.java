package dev.toygpt.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Attention} with SIMD registers (the JDK's Vector API); loaded only when the module is present.
 *
 * <p>Every product here has the same shape: a vector accumulator that collects {@code scalar x vector-row}
 * terms and is stored once. Scores run along keys (keys transposed, so a row of scores is contiguous);
 * outputs and gradients run along the head's channels. No horizontal sums, no partial vectors per (t, s)
 * pair: one (batch, head) pair costs a few hundred vector instructions per query, not thousands of calls.
 */
final class SimdAttention {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private SimdAttention() {}

    /** Keys are transposed into rows of this many floats: the sequence rounded up to whole vectors. */
    static int paddedTime(int time) {
        return (time + L - 1) / L * L;
    }

    /** Forward pass of one (batch, head): att rows get the softmax weights, out this head's columns. */
    static void forwardHead(float[] q, float[] k, float[] v, float[] out, float[] att, float[] dropMask,
                            int base, int attBase, int time, int channels, int hs, float scale,
                            float[] kt, float[] scores) {
        int tPad = paddedTime(time);
        transposePadded(k, base, channels, hs, time, tPad, kt);
        for (int t = 0; t < time; t++) {
            int qOff = base + t * channels;
            int row = attBase + t * time;
            // scores[s] = q_t · k_s / sqrt(hs) for s <= t, a vector of keys at a time
            for (int s0 = 0; s0 <= t; s0 += L) {
                FloatVector acc = FloatVector.zero(S);
                for (int d = 0; d < hs; d++) {
                    acc = FloatVector.fromArray(S, kt, d * tPad + s0).fma(FloatVector.broadcast(S, q[qOff + d] * scale), acc);
                }
                acc.intoArray(scores, s0);
            }
            softmaxRow(scores, t + 1, att, row, time);
            // out_t = sum over s <= t of (weight, after dropout) * v_s
            int d0 = 0;
            for (; d0 + L <= hs; d0 += L) {
                FloatVector acc = FloatVector.zero(S);
                for (int s = 0; s <= t; s++) {
                    float w = dropMask == null ? att[row + s] : att[row + s] * dropMask[row + s];
                    acc = FloatVector.fromArray(S, v, base + s * channels + d0).fma(FloatVector.broadcast(S, w), acc);
                }
                acc.intoArray(out, qOff + d0);
            }
            for (int d = d0; d < hs; d++) {
                float o = 0f;
                for (int s = 0; s <= t; s++) {
                    float w = dropMask == null ? att[row + s] : att[row + s] * dropMask[row + s];
                    o = Math.fma(w, v[base + s * channels + d], o);
                }
                out[qOff + d] = o;
            }
        }
    }

    /**
     * Backward pass of one (batch, head). First, query by query: the gradient of the weights (dOut_t · v_s),
     * through dropout and softmax to the scores (kept in ds), and dq_t. Then, key by key, the columns of ds
     * and of the weights give dk_s and dv_s.
     */
    static void backwardHead(float[] q, float[] k, float[] v, float[] att, float[] dropMask, float[] dOut,
                             float[] dq, float[] dk, float[] dv, int base, int attBase, int time, int channels,
                             int hs, float scale, float[] vt, float[] dw, float[] ds) {
        int tPad = paddedTime(time);
        transposePadded(v, base, channels, hs, time, tPad, vt);
        for (int t = 0; t < time; t++) {
            int oOff = base + t * channels;
            int row = attBase + t * time;
            for (int s0 = 0; s0 <= t; s0 += L) {
                FloatVector acc = FloatVector.zero(S);
                for (int d = 0; d < hs; d++) {
                    acc = FloatVector.fromArray(S, vt, d * tPad + s0).fma(FloatVector.broadcast(S, dOut[oOff + d]), acc);
                }
                acc.intoArray(dw, s0);
            }
            // through dropout, then the softmax: d score = w * (d w - sum(d w * w)), scaled like the scores
            float dot = 0f;
            for (int s = 0; s <= t; s++) {
                float g = dropMask == null ? dw[s] : dw[s] * dropMask[row + s];
                dw[s] = g;
                dot += g * att[row + s];
            }
            int dsRow = t * time;
            for (int s = 0; s <= t; s++) ds[dsRow + s] = att[row + s] * (dw[s] - dot) * scale;
            if (dq != null) accumulateRows(ds, dsRow, 1, 0, t, k, base, channels, hs, dq, oOff);
        }
        for (int s = 0; s < time; s++) {
            int off = base + s * channels;
            // dk_s = sum over t >= s of ds[t][s] q_t ; dv_s = sum over t >= s of (weight after dropout) dOut_t
            if (dk != null) accumulateRows(ds, s * time + s, time, s, time - 1, q, base, channels, hs, dk, off);
            if (dv != null) accumulateWeightedOutputs(att, dropMask, attBase, s, time, dOut, base, channels, hs, dv, off);
        }
    }

    /**
     * y[yOff + d] += sum over r in [r0, r1] of coef[cOff + (r - r0) * cStride] * x[base + r * channels + d], for d < hs.
     */
    private static void accumulateRows(float[] coef, int cOff, int cStride, int r0, int r1, float[] x, int base,
                                       int channels, int hs, float[] y, int yOff) {
        int d0 = 0;
        for (; d0 + L <= hs; d0 += L) {
            FloatVector acc = FloatVector.zero(S);
            int c = cOff;
            for (int r = r0; r <= r1; r++, c += cStride) {
                acc = FloatVector.fromArray(S, x, base + r * channels + d0).fma(FloatVector.broadcast(S, coef[c]), acc);
            }
            acc.add(FloatVector.fromArray(S, y, yOff + d0)).intoArray(y, yOff + d0);
        }
        for (int d = d0; d < hs; d++) {
            float sum = 0f;
            int c = cOff;
            for (int r = r0; r <= r1; r++, c += cStride) sum = Math.fma(coef[c], x[base + r * channels + d], sum);
            y[yOff + d] += sum;
        }
    }

    private static void accumulateWeightedOutputs(float[] att, float[] dropMask, int attBase, int s, int time,
                                                  float[] dOut, int base, int channels, int hs, float[] dv, int off) {
        int d0 = 0;
        for (; d0 + L <= hs; d0 += L) {
            FloatVector acc = FloatVector.zero(S);
            for (int t = s; t < time; t++) {
                int a = attBase + t * time + s;
                float w = dropMask == null ? att[a] : att[a] * dropMask[a];
                acc = FloatVector.fromArray(S, dOut, base + t * channels + d0).fma(FloatVector.broadcast(S, w), acc);
            }
            acc.add(FloatVector.fromArray(S, dv, off + d0)).intoArray(dv, off + d0);
        }
        for (int d = d0; d < hs; d++) {
            float sum = 0f;
            for (int t = s; t < time; t++) {
                int a = attBase + t * time + s;
                float w = dropMask == null ? att[a] : att[a] * dropMask[a];
                sum = Math.fma(w, dOut[base + t * channels + d], sum);
            }
            dv[off + d] += sum;
        }
    }

    /**
     * One new query against a key/value cache, all heads: keysT is (channels, stride) (key of position s in
     * column s, padded columns zero), values is (positions, channels); out gets the heads' outputs side by side.
     */
    static void decode(float[] q, float[] keysT, int stride, float[] values, float[] out, float[] scores,
                       int positions, int channels, int heads) {
        int hs = channels / heads;
        float scale = (float) (1.0 / Math.sqrt(hs));
        for (int h = 0; h < heads; h++) {
            int off = h * hs;
            for (int s0 = 0; s0 < positions; s0 += L) {
                FloatVector acc = FloatVector.zero(S);
                for (int d = off; d < off + hs; d++) {
                    acc = FloatVector.fromArray(S, keysT, d * stride + s0).fma(FloatVector.broadcast(S, q[d] * scale), acc);
                }
                acc.intoArray(scores, s0);
            }
            softmaxRow(scores, positions, scores, 0, positions);
            int d0 = 0;
            for (; d0 + L <= hs; d0 += L) {
                FloatVector acc = FloatVector.zero(S);
                for (int s = 0; s < positions; s++) {
                    acc = FloatVector.fromArray(S, values, s * channels + off + d0).fma(FloatVector.broadcast(S, scores[s]), acc);
                }
                acc.intoArray(out, off + d0);
            }
            for (int d = off + d0; d < off + hs; d++) {
                float o = 0f;
                for (int s = 0; s < positions; s++) o = Math.fma(scores[s], values[s * channels + d], o);
                out[d] = o;
            }
        }
    }

    /** att[row + s] = softmax of scores[0..n) for s < n, 0 for the masked positions n..time. */
    private static void softmaxRow(float[] scores, int n, float[] att, int row, int time) {
        float max = Float.NEGATIVE_INFINITY;
        for (int s = 0; s < n; s++) max = Math.max(max, scores[s]);
        float sum = 0f;
        for (int s = 0; s < n; s++) {
            float e = (float) Math.exp(scores[s] - max);
            att[row + s] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int s = 0; s < n; s++) att[row + s] *= inv;
        for (int s = n; s < time; s++) att[row + s] = 0f;
    }

    /** dst[d * tPad + s] = src[base + s * channels + d], with columns time..tPad zero. */
    private static void transposePadded(float[] src, int base, int channels, int hs, int time, int tPad, float[] dst) {
        for (int s = 0; s < time; s++) {
            int off = base + s * channels;
            for (int d = 0; d < hs; d++) dst[d * tPad + s] = src[off + d];
        }
        for (int d = 0; d < hs; d++) java.util.Arrays.fill(dst, d * tPad + time, (d + 1) * tPad, 0f);
    }
}
