package dev.toygpt.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Attention} with SIMD registers (the JDK's Vector API); loaded only when the module is present.
 *
 * <p>Every product here has the same shape: vector accumulators that collect {@code scalar x vector-row}
 * terms and are stored once. Scores run along keys (keys transposed, so a row of scores is contiguous);
 * outputs and gradients run along the head's channels. Four queries (or, for dk and dv, four keys) go
 * together, so each vector loaded serves four accumulators. No horizontal sums, no per-(t, s) calls.
 */
final class SimdAttention {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private SimdAttention() {}

    /**
     * 0, 1, .., L - 1: compared with how many values a row has left, it gives the mask of the lanes past the row's
     * end. S.indexInRange is not compiled to that on JDK 17 (it was a tenth of attention's time at seed's shape).
     */
    private static final float[] LANE_INDEX = new float[L];
    static {
        for (int i = 0; i < L; i++) LANE_INDEX[i] = i;
    }

    /** Keys are transposed into rows of this many floats: the sequence rounded up to whole vectors. */
    static int paddedTime(int time) {
        return (time + L - 1) / L * L;
    }

    /** Queries (forward) and keys (backward) are taken this many at a time, sharing each vector they load. */
    static final int GROUP = 4;

    /**
     * Forward pass of one (batch, head): att rows get the softmax weights (when att is not null), out this
     * head's columns. The weights are made in scratch rows of whole vectors (scores), exponentials and all,
     * and copied to att once: the same floats as {@link FlashAttention}'s forward pass.
     *
     * @param scores GROUP * paddedTime(time) floats of scratch
     * @param lanes  GROUP * (L + 1) floats of scratch
     */
    static void forwardHead(float[] q, float[] k, float[] v, float[] out, float[] att, float[] dropMask,
                            int base, int attBase, int time, int channels, int hs, float scale,
                            float[] kt, float[] scores, float[] lanes) {
        int tPad = paddedTime(time);
        transposePadded(k, base, channels, hs, time, tPad, kt);
        int t0 = 0;
        for (; t0 + GROUP <= time; t0 += GROUP) {
            int qOff = base + t0 * channels, row = attBase + t0 * time, keys = t0 + GROUP;
            // scores[r][s] = q_(t0+r) · k_s / sqrt(hs), for four queries and a vector of keys at a time
            sweep4(q, qOff, channels, 1, kt, 0, tPad, hs, scores, 0, tPad, scale, paddedTime(keys));
            softmaxWeights4(scores, tPad, t0 + 1, keys, lanes);
            for (int r = 0; r < GROUP; r++) keepWeights(scores, r * tPad, t0 + r + 1, att, dropMask, row + r * time, time);
            // out_t = sum over s of (weight, after dropout) * v_s; the weights past t are zero
            int d0 = sweep4(scores, 0, tPad, 1, v, base, channels, keys, out, qOff, channels, 1f, hs - hs % L);
            for (int r = 0; r < GROUP; r++) {
                for (int d = d0; d < hs; d++) out[qOff + r * channels + d] = scalarSum(scores, r * tPad, 1, v, base + d, channels, keys);
            }
        }
        for (int t = t0; t < time; t++) {
            int qOff = base + t * channels;
            for (int s0 = 0; s0 <= t; s0 += L) weightedSum(q, qOff, 1, kt, s0, tPad, hs, scale, false, scores, s0);
            // the same floats as the group's rows; the row's maximum and 1 / sum go to lanes' spare room, unused
            flashWeights(scores, 0, t + 1, t + 1, lanes, GROUP * L, lanes);
            keepWeights(scores, 0, t + 1, att, dropMask, attBase + t * time, time);
            int d0 = 0;
            for (; d0 + L <= hs; d0 += L) weightedSum(scores, 0, 1, v, base + d0, channels, t + 1, 1f, false, out, qOff + d0);
            for (int d = d0; d < hs; d++) out[qOff + d] = scalarSum(scores, 0, 1, v, base + d, channels, t + 1);
        }
    }

    /** Weights x[off ..+ n) of one query, copied to att[row ..+ time) (zeros past n) when kept, then dropped out in x. */
    private static void keepWeights(float[] x, int off, int n, float[] att, float[] dropMask, int row, int time) {
        if (att != null) {
            System.arraycopy(x, off, att, row, n);
            java.util.Arrays.fill(att, row + n, row + time, 0f);
        }
        if (dropMask != null) {
            for (int s = 0; s < n; s++) x[off + s] *= dropMask[row + s];
        }
    }

    /**
     * Backward pass of one (batch, head). First, query by query: the gradient of the weights (dOut_t · v_s),
     * through dropout and softmax to the scores (kept in ds), and dq_t. Then, key by key, the columns of ds
     * and of the weights give dk_s and dv_s. Rows of ds and dropped are zero past their query, so groups of
     * queries or keys can run over the same range.
     *
     * @param dw      GROUP * paddedTime(time) floats of scratch
     * @param ds      (T, T) scratch for the score gradients, plus paddedTime(time) floats
     * @param dropped the same for the weights after dropout, when there is dropout
     * @param lanes   L floats of scratch
     */
    static void backwardHead(float[] q, float[] k, float[] v, float[] att, float[] dropMask, float[] dOut,
                             float[] dq, float[] dk, float[] dv, int base, int attBase, int time, int channels,
                             int hs, float scale, float[] vt, float[] dw, float[] ds, float[] dropped, float[] lanes) {
        int tPad = paddedTime(time);
        transposePadded(v, base, channels, hs, time, tPad, vt);
        int t0 = 0;
        for (; t0 + GROUP <= time; t0 += GROUP) {
            int oOff = base + t0 * channels, keys = t0 + GROUP;
            sweep4(dOut, oOff, channels, 1, vt, 0, tPad, hs, dw, 0, tPad, 1f, paddedTime(keys));
            for (int r = 0; r < GROUP; r++) scoreGradientRow(dw, r * tPad, att, dropMask, attBase, t0 + r, time, scale, ds, dropped, lanes);
            if (dq != null) addQueryGradients4(ds, t0, time, k, base, channels, keys, dq, oOff, hs);
        }
        for (int t = t0; t < time; t++) {
            int oOff = base + t * channels;
            for (int s0 = 0; s0 <= t; s0 += L) weightedSum(dOut, oOff, 1, vt, s0, tPad, hs, 1f, false, dw, s0);
            scoreGradientRow(dw, 0, att, dropMask, attBase, t, time, scale, ds, dropped, lanes);
            if (dq != null) accumulate(ds, t * time, 1, k, base, channels, t + 1, hs, dq, oOff);
        }
        // dk_s = sum over t >= s of ds[t][s] q_t ; dv_s = sum over t >= s of (weight after dropout) dOut_t
        float[] w = dropMask == null ? att : dropped;
        int wBase = dropMask == null ? attBase : 0;
        int s = 0;
        if (WIDE && hs % (2 * L) == 0) { // eight keys at a time where the head is whole pairs of vectors (baby)
            for (; s + 2 * GROUP <= time; s += 2 * GROUP) {
                int off = base + s * channels, rows = time - s;
                for (int d = 0; d < hs; d += 2 * L) {
                    if (dk != null) add8x2(ds, s * time + s, time, q, off + d, channels, rows, dk, off + d);
                    if (dv != null) add8x2(w, wBase + s * time + s, time, dOut, off + d, channels, rows, dv, off + d);
                }
            }
        }
        for (; s + GROUP <= time; s += GROUP) {
            int off = base + s * channels, rows = time - s;
            if (dk != null) accumulate4(ds, s * time + s, time, q, off, channels, rows, hs, dk, off);
            if (dv != null) accumulate4(w, wBase + s * time + s, time, dOut, off, channels, rows, hs, dv, off);
        }
        for (; s < time; s++) {
            int off = base + s * channels, rows = time - s;
            if (dk != null) accumulate(ds, s * time + s, time, q, off, channels, rows, hs, dk, off);
            if (dv != null) accumulate(w, wBase + s * time + s, time, dOut, off, channels, rows, hs, dv, off);
        }
    }

    /**
     * Query t: from the gradient of its weights (dw[dwOff..], before dropout is undone) to the gradient of its
     * scores, through dropout and softmax: ds = w * (dw - sum(dw * w)) * scale. Also keeps the weights after
     * dropout. Both rows are zero past t. Whole vectors up to paddedTime(t + 1), the weights and mask loaded
     * under a mask (the next row follows them in att); dw needs that much room, and so do ds and dropped past
     * their last row. lanes: L floats of scratch.
     */
    private static void scoreGradientRow(float[] dw, int dwOff, float[] att, float[] dropMask, int attBase, int t,
                                         int time, float scale, float[] ds, float[] dropped, float[] lanes) {
        int n = t + 1, row = attBase + t * time, dsRow = t * time, width = paddedTime(n);
        FloatVector dot = FloatVector.zero(S), lane = FloatVector.fromArray(S, LANE_INDEX, 0);
        for (int j = 0; j < width; j += L) {
            VectorMask<Float> in = lane.lt(n - j);
            FloatVector g = FloatVector.fromArray(S, dw, dwOff + j);
            if (dropMask != null) g = g.mul(FloatVector.fromArray(S, dropMask, row + j, in));
            g.intoArray(dw, dwOff + j);
            dot = g.fma(FloatVector.fromArray(S, att, row + j, in), dot);
        }
        dot.intoArray(lanes, 0);
        float sum = SimdVec.laneSum(lanes, 0); // a fixed order, as in flashWeights
        for (int j = 0; j < width; j += L) {
            VectorMask<Float> in = lane.lt(n - j);
            FloatVector w = FloatVector.fromArray(S, att, row + j, in);
            w.mul(FloatVector.fromArray(S, dw, dwOff + j).sub(sum)).mul(scale).intoArray(ds, dsRow + j);
            if (dropMask != null) w.mul(FloatVector.fromArray(S, dropMask, row + j, in)).intoArray(dropped, dsRow + j);
        }
        int zeroFrom = Math.min(width, time);
        java.util.Arrays.fill(ds, dsRow + zeroFrom, dsRow + time, 0f);
        if (dropMask != null) java.util.Arrays.fill(dropped, dsRow + zeroFrom, dsRow + time, 0f);
    }

    /**
     * {@link FlashAttention}'s forward pass of one (batch, head): {@link #forwardHead} with the weights of four
     * queries at a time in scratch (scores) instead of in a (T, T) array, each row's softmax maximum and 1 / sum
     * kept in stats[statsOff + 2 t ..], and dropout drawn on the spot.
     */
    static void flashForwardHead(float[] q, float[] k, float[] v, float[] out, float[] stats, int statsOff, float dropout,
                                 long seed, long maskBase, int base, int time, int channels, int hs, float scale,
                                 float[] kt, float[] scores, float[] lanes) {
        int tPad = paddedTime(time);
        transposePadded(k, base, channels, hs, time, tPad, kt);
        int t0 = 0;
        for (; t0 + GROUP <= time; t0 += GROUP) {
            int qOff = base + t0 * channels, keys = t0 + GROUP;
            sweep4(q, qOff, channels, 1, kt, 0, tPad, hs, scores, 0, tPad, scale, paddedTime(keys));
            for (int r = 0; r < GROUP; r++) {
                int t = t0 + r;
                flashWeights(scores, r * tPad, t + 1, keys, stats, statsOff + 2 * t, lanes);
                if (dropout != 0f) Dropout.applyRow(scores, r * tPad, t + 1, dropout, seed, maskBase + (long) t * time);
            }
            int d0 = sweep4(scores, 0, tPad, 1, v, base, channels, keys, out, qOff, channels, 1f, hs - hs % L);
            for (int r = 0; r < GROUP; r++) {
                for (int d = d0; d < hs; d++) out[qOff + r * channels + d] = scalarSum(scores, r * tPad, 1, v, base + d, channels, keys);
            }
        }
        for (int t = t0; t < time; t++) {
            int qOff = base + t * channels;
            for (int s0 = 0; s0 <= t; s0 += L) weightedSum(q, qOff, 1, kt, s0, tPad, hs, scale, false, scores, s0);
            flashWeights(scores, 0, t + 1, t + 1, stats, statsOff + 2 * t, lanes);
            if (dropout != 0f) Dropout.applyRow(scores, 0, t + 1, dropout, seed, maskBase + (long) t * time);
            int d0 = 0;
            for (; d0 + L <= hs; d0 += L) weightedSum(scores, 0, 1, v, base + d0, channels, t + 1, 1f, false, out, qOff + d0);
            for (int d = d0; d < hs; d++) out[qOff + d] = scalarSum(scores, 0, 1, v, base + d, channels, t + 1);
        }
    }

    /**
     * {@link FlashAttention}'s backward pass of one (batch, head): {@link #backwardHead}, with each group's
     * weights computed again (the same scores, then the forward's maximum and 1 / sum give the same weights)
     * and dropout drawn again. The head's (T, T) score gradients and dropped weights live in this thread's
     * scratch (ds, dropped) only while the head is worked on.
     */
    static void flashBackwardHead(float[] q, float[] k, float[] v, float[] dOut, float[] dq, float[] dk, float[] dv,
                                  float[] stats, int statsOff, float dropout, long seed, long maskBase, int base, int time,
                                  int channels, int hs, float scale, float[] kt, float[] vt, float[] scores, float[] dw,
                                  float[] ds, float[] dropped, float[] mask) {
        int tPad = paddedTime(time);
        transposePadded(k, base, channels, hs, time, tPad, kt);
        transposePadded(v, base, channels, hs, time, tPad, vt);
        int t0 = 0;
        for (; t0 + GROUP <= time; t0 += GROUP) {
            int oOff = base + t0 * channels, keys = t0 + GROUP;
            sweep4(q, oOff, channels, 1, kt, 0, tPad, hs, scores, 0, tPad, scale, paddedTime(keys));
            sweep4(dOut, oOff, channels, 1, vt, 0, tPad, hs, dw, 0, tPad, 1f, paddedTime(keys));
            for (int r = 0; r < GROUP; r++) {
                int t = t0 + r;
                flashWeightsAgain(scores, r * tPad, t + 1, keys, stats, statsOff + 2 * t);
                flashGradientRow(dw, r * tPad, scores, r * tPad, t, time, scale, dropout, seed, maskBase, ds, dropped, mask);
            }
            if (dq != null) addQueryGradients4(ds, t0, time, k, base, channels, keys, dq, oOff, hs);
        }
        for (int t = t0; t < time; t++) {
            int oOff = base + t * channels;
            for (int s0 = 0; s0 <= t; s0 += L) weightedSum(q, oOff, 1, kt, s0, tPad, hs, scale, false, scores, s0);
            flashWeightsAgain(scores, 0, t + 1, t + 1, stats, statsOff + 2 * t);
            for (int s0 = 0; s0 <= t; s0 += L) weightedSum(dOut, oOff, 1, vt, s0, tPad, hs, 1f, false, dw, s0);
            flashGradientRow(dw, 0, scores, 0, t, time, scale, dropout, seed, maskBase, ds, dropped, mask);
            if (dq != null) accumulate(ds, t * time, 1, k, base, channels, t + 1, hs, dq, oOff);
        }
        // dk_s = sum over t >= s of ds[t][s] q_t ; dv_s = sum over t >= s of (weight after dropout) dOut_t
        int s = 0;
        for (; s + GROUP <= time; s += GROUP) {
            int off = base + s * channels, rows = time - s;
            if (dk != null) accumulate4(ds, s * time + s, time, q, off, channels, rows, hs, dk, off);
            if (dv != null) accumulate4(dropped, s * time + s, time, dOut, off, channels, rows, hs, dv, off);
        }
        for (; s < time; s++) {
            int off = base + s * channels, rows = time - s;
            if (dk != null) accumulate(ds, s * time + s, time, q, off, channels, rows, hs, dk, off);
            if (dv != null) accumulate(dropped, s * time + s, time, dOut, off, channels, rows, hs, dv, off);
        }
    }

    /**
     * Scores x[off ..+ n) to softmax weights in place, zeros up to width (rounded up to whole vectors: the row
     * must have room for them); the row's maximum and 1 / sum go to stats[so], stats[so + 1] (when stats is
     * not null) for {@link #flashWeightsAgain}. lanes: L floats of scratch.
     *
     * <p>Forward and backward have a method each, and no vector goes into or out of a call: one method with a
     * flag was compiled first for the forward pass alone, deoptimised at the first backward pass, and once
     * recompiled sometimes left exp and the lane sum out of line, boxing their vectors.
     */
    private static void flashWeights(float[] x, int off, int n, int width, float[] stats, int so, float[] lanes) {
        float max = rowMax(x, off, off + n);
        expRow(x, off, off + n, max, lanes, 0);
        float inv = 1f / SimdVec.laneSum(lanes, 0); // a fixed order, not reduceLanes's (see there)
        if (stats != null) {
            stats[so] = max;
            stats[so + 1] = inv;
        }
        scaleRow(x, off, n, width, inv);
    }

    // The steps of a row's softmax, shared by flashWeights and softmaxWeights4. They pass arrays and floats,
    // never a vector, so a call the JIT leaves out of line cannot box one.

    /**
     * The maximum of x[off .. end): exact whatever the order of the lanes. The lanes' maximum is taken on
     * integers that order as the floats do (a negative float's bits with all but the sign flipped): JDK 17
     * compiles a float vector's maximum into a long sequence, which took a third of the decoder's softmax.
     * A row with a NaN may get a finite maximum here, but its sum, and so every weight, is NaN all the same.
     */
    private static float rowMax(float[] x, int off, int end) {
        FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY), lane = FloatVector.fromArray(S, LANE_INDEX, 0);
        for (int j = off; j < end; j += L) m = m.max(FloatVector.fromArray(S, x, j).blend(Float.NEGATIVE_INFINITY, lane.compare(VectorOperators.GE, end - j)));
        IntVector bits = m.reinterpretAsInts();
        int top = bits.lanewise(VectorOperators.XOR, bits.lanewise(VectorOperators.ASHR, 31).lanewise(VectorOperators.AND, 0x7fffffff))
                .reduceLanes(VectorOperators.MAX);
        return Float.intBitsToFloat(top ^ ((top >> 31) & 0x7fffffff));
    }

    /** x[off .. end) to exp(x - max) in place (zeros past end up to the vector's end); the lanes' sums to lanes[at ..+ L). */
    private static void expRow(float[] x, int off, int end, float max, float[] lanes, int at) {
        FloatVector sum = FloatVector.zero(S), lane = FloatVector.fromArray(S, LANE_INDEX, 0);
        for (int j = off; j < end; j += L) {
            expShifted(x, j, max);
            FloatVector e = FloatVector.fromArray(S, x, j).blend(0f, lane.compare(VectorOperators.GE, end - j));
            e.intoArray(x, j);
            sum = sum.add(e);
        }
        sum.intoArray(lanes, at);
    }

    /** x[off ..+ n) times inv (the row's whole vectors), then zeros up to width. */
    private static void scaleRow(float[] x, int off, int n, int width, float inv) {
        int end = off + n;
        for (int j = off; j < end; j += L) FloatVector.fromArray(S, x, j).mul(inv).intoArray(x, j);
        int zeroFrom = off + paddedTime(n);
        if (zeroFrom < off + width) java.util.Arrays.fill(x, zeroFrom, off + width, 0f);
    }

    /**
     * {@link #flashWeights} of a group's four rows, for the plain forward pass (which keeps the weights, not
     * the rows' maximum and 1 / sum), x[r stride ..+ firstN + r) for r < 4, zeros up to width:
     * the same floats, with each step taken for the four rows before the next, so that the rows' chains of
     * dependent operations (maximum, exponentials, the sum's lanes, 1 / sum) overlap instead of running one
     * after another. lanes: GROUP * (L + 1) floats of scratch.
     */
    private static void softmaxWeights4(float[] x, int stride, int firstN, int width, float[] lanes) {
        int maxAt = GROUP * L;
        for (int r = 0; r < GROUP; r++) lanes[maxAt + r] = rowMax(x, r * stride, r * stride + firstN + r);
        for (int r = 0; r < GROUP; r++) expRow(x, r * stride, r * stride + firstN + r, lanes[maxAt + r], lanes, r * L);
        for (int r = 0; r < GROUP; r++) lanes[maxAt + r] = 1f / SimdVec.laneSum(lanes, r * L); // flashWeights's order
        for (int r = 0; r < GROUP; r++) scaleRow(x, r * stride, firstN + r, width, lanes[maxAt + r]);
    }

    /**
     * {@link #flashWeights} again, from the maximum and 1 / sum it kept in stats[so], stats[so + 1]: the same
     * weights bit for bit, as long as the scores are the same.
     */
    private static void flashWeightsAgain(float[] x, int off, int n, int width, float[] stats, int so) {
        int end = off + n;
        float max = stats[so], inv = stats[so + 1];
        FloatVector lane = FloatVector.fromArray(S, LANE_INDEX, 0);
        for (int j = off; j < end; j += L) {
            expShifted(x, j, max);
            FloatVector.fromArray(S, x, j).mul(inv).blend(0f, lane.compare(VectorOperators.GE, end - j)).intoArray(x, j);
        }
        int zeroFrom = off + paddedTime(n);
        if (zeroFrom < off + width) java.util.Arrays.fill(x, zeroFrom, off + width, 0f);
    }

    /** dq rows t0 .. t0+3 += ds rows · k over the first keys positions: whole vectors, then the head's last columns. */
    private static void addQueryGradients4(float[] ds, int t0, int time, float[] k, int base, int channels, int keys,
                                           float[] dq, int oOff, int hs) {
        int d0 = addSweep4(ds, t0 * time, time, 1, k, base, channels, keys, dq, oOff, channels, hs - hs % L);
        for (int r = 0; r < GROUP; r++) {
            for (int d = d0; d < hs; d++) dq[oOff + r * channels + d] += scalarSum(ds, (t0 + r) * time, 1, k, base + d, channels, keys);
        }
    }

    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 in two parts (Cody and Waite), the first exact in few bits, so n * LN2_HI has no rounding error. */
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /** Adding then subtracting 1.5 * 2^23 rounds a float of magnitude below 2^22 to the nearest integer. */
    private static final float ROUND = 12582912f;

    /**
     * x[j ..+ L) = e^(x - max) in place, for x <= max (a score and its row's maximum), within about 2 ulp of
     * Math.exp; below -87 it gives about 1e-38 instead of a smaller number or 0. Plain multiplies, adds and
     * FMAs, never the Vector API's EXP, so it gives the same bits whether the JIT has compiled it or not (the
     * Vector API's EXP does not, and a run resumed in a new JVM would drift from the uninterrupted one:
     * CtrlCTest). e^x = 2^n e^r with n = round(x / ln 2) and |r| <= ln 2 / 2; e^r from a polynomial
     * of degree 7 (the Cephes library's coefficients for expf). Generation's attention uses it too, so
     * the decoder's softmax gives the forward pass's floats.
     *
     * <p>Arrays in and out, no vector: a method that takes or returns a vector is sometimes left out of line
     * by C2 (a call site it judged cold), and then every vector in it is an object; on JDK 17 that happened to
     * this exponential in about half the JVMs running `lecture` (4.4 GB of Float512Vector and Int512Vector a
     * step).
     */
    static void expShifted(float[] x, int j, float max) {
        FloatVector v = FloatVector.fromArray(S, x, j).sub(max).max(-87f);
        FloatVector big = v.fma(LOG2E, ROUND); // ROUND + n, with n in its low bits
        FloatVector n = big.sub(ROUND);
        FloatVector r = v.sub(n.mul(LN2_HI)); // n * LN2_HI is exact
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = r.fma(1.9875691500e-4f, 1.3981999507e-3f);
        p = p.fma(r, FloatVector.broadcast(S, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(S, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(S, 5.0000001201e-1f));
        FloatVector er = p.fma(r.mul(r), r).add(1f);
        // 2^n: n + 127 in the exponent bits (n >= -126 here, so it is a normal float)
        FloatVector twoN = big.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND) - 127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        er.mul(twoN).intoArray(x, j);
    }

    /**
     * {@link #scoreGradientRow} with the weights of query t in w[wOff ..] and its dropout drawn here (into mask):
     * ds row t = w * (dw - sum(dw * w)) * scale, dropped row t = w after dropout, both zero past t. Whole
     * vectors up to paddedTime(t + 1): w is zero there past t, so those lanes add nothing; ds and dropped need
     * that much room past their last row; mask needs paddedTime(t + 1) + L floats.
     */
    private static void flashGradientRow(float[] dw, int dwOff, float[] w, int wOff, int t, int time, float scale,
                                         float dropout, long seed, long maskBase, float[] ds, float[] dropped, float[] mask) {
        int n = t + 1, dsRow = t * time, width = paddedTime(n);
        if (dropout != 0f) Dropout.maskRow(mask, 0, width, dropout, seed, maskBase + (long) t * time);
        FloatVector dot = FloatVector.zero(S);
        for (int j = 0; j < width; j += L) {
            FloatVector g = FloatVector.fromArray(S, dw, dwOff + j);
            if (dropout != 0f) g = g.mul(FloatVector.fromArray(S, mask, j));
            g.intoArray(dw, dwOff + j);
            dot = g.fma(FloatVector.fromArray(S, w, wOff + j), dot);
        }
        dot.intoArray(mask, width);
        float sum = SimdVec.laneSum(mask, width); // a fixed order, as in flashWeights
        for (int j = 0; j < width; j += L) {
            FloatVector wj = FloatVector.fromArray(S, w, wOff + j);
            wj.mul(FloatVector.fromArray(S, dw, dwOff + j).sub(sum)).mul(scale).intoArray(ds, dsRow + j);
            (dropout == 0f ? wj : wj.mul(FloatVector.fromArray(S, mask, j))).intoArray(dropped, dsRow + j);
        }
        java.util.Arrays.fill(ds, dsRow + n, dsRow + time, 0f);
        java.util.Arrays.fill(dropped, dsRow + n, dsRow + time, 0f);
    }

    /**
     * Four keys at a time: y[yOff + r * xStride + d] += sum over i < n of coef[c + r + i * cStride] * x[xOff + i * xStride + d].
     */
    private static void accumulate4(float[] coef, int c, int cStride, float[] x, int xOff, int xStride, int n, int hs,
                                    float[] y, int yOff) {
        int d0 = addSweep4(coef, c, 1, cStride, x, xOff, xStride, n, y, yOff, xStride, hs - hs % L);
        for (int r = 0; r < GROUP; r++) {
            for (int d = d0; d < hs; d++) y[yOff + r * xStride + d] += scalarSum(coef, c + r, cStride, x, xOff + d, xStride, n);
        }
    }

    /**
     * {@link #set4} over the vector columns [0, width) of x and y (width a multiple of L): two columns (four
     * with AVX-512) at a time where it can, so that eight independent chains of FMAs are in flight instead of
     * four (four cannot hide the FMA latency) and each broadcast coefficient serves two vectors. Each sum still
     * adds its terms in the same order, so the results do not change. Returns width.
     *
     * <p>Setting and adding ({@link #addSweep4}) are separate methods down to the leaves, each leaf storing its
     * own registers with no branch and no vector argument: with one method taking a flag, C2 compiled it first
     * for the forward pass's stores only,
     * and after the backward pass's first add the recompiled method sometimes (one JVM in two, lecture preset,
     * JDK 17) ran the Vector API's plain Java FMAs, allocating arrays: attention then took 40% of the step.
     */
    private static int sweep4(float[] coef, int c, int cRow, int cStep, float[] x, int xOff, int xStep, int n,
                              float[] y, int yOff, int yRow, float scale, int width) {
        int j = 0;
        if (WIDE) for (; j + 4 * L <= width; j += 4 * L) set4x4(coef, c, cRow, cStep, x, xOff + j, xStep, n, y, yOff + j, yRow, scale);
        for (; j + 2 * L <= width; j += 2 * L) set4x2(coef, c, cRow, cStep, x, xOff + j, xStep, n, y, yOff + j, yRow, scale);
        if (j < width) set4(coef, c, cRow, cStep, x, xOff + j, xStep, n, y, yOff + j, yRow, scale);
        return width;
    }

    /** {@link #sweep4} that adds the sums to y. */
    private static int addSweep4(float[] coef, int c, int cRow, int cStep, float[] x, int xOff, int xStep, int n,
                                 float[] y, int yOff, int yRow, int width) {
        int j = 0;
        if (WIDE) for (; j + 4 * L <= width; j += 4 * L) add4x4(coef, c, cRow, cStep, x, xOff + j, xStep, n, y, yOff + j, yRow);
        for (; j + 2 * L <= width; j += 2 * L) add4x2(coef, c, cRow, cStep, x, xOff + j, xStep, n, y, yOff + j, yRow);
        if (j < width) add4(coef, c, cRow, cStep, x, xOff + j, xStep, n, y, yOff + j, yRow);
        return width;
    }

    /**
     * With 32 vector registers (AVX-512), four rows by four vectors: 16 accumulators, each load of x serving four
     * of them and each broadcast four, against 8 and 2 with two vectors. AVX2's 16 registers would spill them.
     */
    private static final boolean WIDE = L >= 16;

    /** {@link #set4x2} for four adjacent vectors. */
    private static void set4x4(float[] coef, int c, int cRow, int cStep, float[] x, int xOff, int xStep, int n,
                               float[] y, int yOff, int yRow, float scale) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        FloatVector b0 = FloatVector.zero(S), b1 = FloatVector.zero(S), b2 = FloatVector.zero(S), b3 = FloatVector.zero(S);
        FloatVector d0 = FloatVector.zero(S), d1 = FloatVector.zero(S), d2 = FloatVector.zero(S), d3 = FloatVector.zero(S);
        FloatVector e0 = FloatVector.zero(S), e1 = FloatVector.zero(S), e2 = FloatVector.zero(S), e3 = FloatVector.zero(S);
        for (int i = 0; i < n; i++) {
            int xi = xOff + i * xStep, ci = c + i * cStep;
            FloatVector xa = FloatVector.fromArray(S, x, xi), xb = FloatVector.fromArray(S, x, xi + L);
            FloatVector xd = FloatVector.fromArray(S, x, xi + 2 * L), xe = FloatVector.fromArray(S, x, xi + 3 * L);
            FloatVector c0 = FloatVector.broadcast(S, coef[ci]);
            a0 = xa.fma(c0, a0); b0 = xb.fma(c0, b0); d0 = xd.fma(c0, d0); e0 = xe.fma(c0, e0);
            FloatVector c1 = FloatVector.broadcast(S, coef[ci + cRow]);
            a1 = xa.fma(c1, a1); b1 = xb.fma(c1, b1); d1 = xd.fma(c1, d1); e1 = xe.fma(c1, e1);
            FloatVector c2 = FloatVector.broadcast(S, coef[ci + 2 * cRow]);
            a2 = xa.fma(c2, a2); b2 = xb.fma(c2, b2); d2 = xd.fma(c2, d2); e2 = xe.fma(c2, e2);
            FloatVector c3 = FloatVector.broadcast(S, coef[ci + 3 * cRow]);
            a3 = xa.fma(c3, a3); b3 = xb.fma(c3, b3); d3 = xd.fma(c3, d3); e3 = xe.fma(c3, e3);
        }
        int y1 = yOff + yRow, y2 = yOff + 2 * yRow, y3 = yOff + 3 * yRow;
        a0.mul(scale).intoArray(y, yOff); b0.mul(scale).intoArray(y, yOff + L); d0.mul(scale).intoArray(y, yOff + 2 * L); e0.mul(scale).intoArray(y, yOff + 3 * L);
        a1.mul(scale).intoArray(y, y1); b1.mul(scale).intoArray(y, y1 + L); d1.mul(scale).intoArray(y, y1 + 2 * L); e1.mul(scale).intoArray(y, y1 + 3 * L);
        a2.mul(scale).intoArray(y, y2); b2.mul(scale).intoArray(y, y2 + L); d2.mul(scale).intoArray(y, y2 + 2 * L); e2.mul(scale).intoArray(y, y2 + 3 * L);
        a3.mul(scale).intoArray(y, y3); b3.mul(scale).intoArray(y, y3 + L); d3.mul(scale).intoArray(y, y3 + 2 * L); e3.mul(scale).intoArray(y, y3 + 3 * L);
    }

    /** {@link #add4x2} for four adjacent vectors. */
    private static void add4x4(float[] coef, int c, int cRow, int cStep, float[] x, int xOff, int xStep, int n,
                               float[] y, int yOff, int yRow) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        FloatVector b0 = FloatVector.zero(S), b1 = FloatVector.zero(S), b2 = FloatVector.zero(S), b3 = FloatVector.zero(S);
        FloatVector d0 = FloatVector.zero(S), d1 = FloatVector.zero(S), d2 = FloatVector.zero(S), d3 = FloatVector.zero(S);
        FloatVector e0 = FloatVector.zero(S), e1 = FloatVector.zero(S), e2 = FloatVector.zero(S), e3 = FloatVector.zero(S);
        for (int i = 0; i < n; i++) {
            int xi = xOff + i * xStep, ci = c + i * cStep;
            FloatVector xa = FloatVector.fromArray(S, x, xi), xb = FloatVector.fromArray(S, x, xi + L);
            FloatVector xd = FloatVector.fromArray(S, x, xi + 2 * L), xe = FloatVector.fromArray(S, x, xi + 3 * L);
            FloatVector c0 = FloatVector.broadcast(S, coef[ci]);
            a0 = xa.fma(c0, a0); b0 = xb.fma(c0, b0); d0 = xd.fma(c0, d0); e0 = xe.fma(c0, e0);
            FloatVector c1 = FloatVector.broadcast(S, coef[ci + cRow]);
            a1 = xa.fma(c1, a1); b1 = xb.fma(c1, b1); d1 = xd.fma(c1, d1); e1 = xe.fma(c1, e1);
            FloatVector c2 = FloatVector.broadcast(S, coef[ci + 2 * cRow]);
            a2 = xa.fma(c2, a2); b2 = xb.fma(c2, b2); d2 = xd.fma(c2, d2); e2 = xe.fma(c2, e2);
            FloatVector c3 = FloatVector.broadcast(S, coef[ci + 3 * cRow]);
            a3 = xa.fma(c3, a3); b3 = xb.fma(c3, b3); d3 = xd.fma(c3, d3); e3 = xe.fma(c3, e3);
        }
        int y1 = yOff + yRow, y2 = yOff + 2 * yRow, y3 = yOff + 3 * yRow;
        a0.add(FloatVector.fromArray(S, y, yOff)).intoArray(y, yOff);
        b0.add(FloatVector.fromArray(S, y, yOff + L)).intoArray(y, yOff + L);
        d0.add(FloatVector.fromArray(S, y, yOff + 2 * L)).intoArray(y, yOff + 2 * L);
        e0.add(FloatVector.fromArray(S, y, yOff + 3 * L)).intoArray(y, yOff + 3 * L);
        a1.add(FloatVector.fromArray(S, y, y1)).intoArray(y, y1);
        b1.add(FloatVector.fromArray(S, y, y1 + L)).intoArray(y, y1 + L);
        d1.add(FloatVector.fromArray(S, y, y1 + 2 * L)).intoArray(y, y1 + 2 * L);
        e1.add(FloatVector.fromArray(S, y, y1 + 3 * L)).intoArray(y, y1 + 3 * L);
        a2.add(FloatVector.fromArray(S, y, y2)).intoArray(y, y2);
        b2.add(FloatVector.fromArray(S, y, y2 + L)).intoArray(y, y2 + L);
        d2.add(FloatVector.fromArray(S, y, y2 + 2 * L)).intoArray(y, y2 + 2 * L);
        e2.add(FloatVector.fromArray(S, y, y2 + 3 * L)).intoArray(y, y2 + 3 * L);
        a3.add(FloatVector.fromArray(S, y, y3)).intoArray(y, y3);
        b3.add(FloatVector.fromArray(S, y, y3 + L)).intoArray(y, y3 + L);
        d3.add(FloatVector.fromArray(S, y, y3 + 2 * L)).intoArray(y, y3 + 2 * L);
        e3.add(FloatVector.fromArray(S, y, y3 + 3 * L)).intoArray(y, y3 + 3 * L);
    }

    /**
     * Four weighted sums of the same two adjacent vectors (at xOff and xOff + L): for r < 4,
     * y[yOff + r * yRow ...+ 2L) = scale * sum over i < n of coef[c + r * cRow + i * cStep] * x[xOff + i * xStep ...+ 2L).
     * Each vector of x is loaded once for all four sums; scale 1 multiplies exactly.
     */
    private static void set4x2(float[] coef, int c, int cRow, int cStep, float[] x, int xOff, int xStep, int n,
                               float[] y, int yOff, int yRow, float scale) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        FloatVector b0 = FloatVector.zero(S), b1 = FloatVector.zero(S), b2 = FloatVector.zero(S), b3 = FloatVector.zero(S);
        for (int i = 0; i < n; i++) {
            int xi = xOff + i * xStep, ci = c + i * cStep;
            FloatVector xa = FloatVector.fromArray(S, x, xi), xb = FloatVector.fromArray(S, x, xi + L);
            FloatVector c0 = FloatVector.broadcast(S, coef[ci]);
            a0 = xa.fma(c0, a0);
            b0 = xb.fma(c0, b0);
            FloatVector c1 = FloatVector.broadcast(S, coef[ci + cRow]);
            a1 = xa.fma(c1, a1);
            b1 = xb.fma(c1, b1);
            FloatVector c2 = FloatVector.broadcast(S, coef[ci + 2 * cRow]);
            a2 = xa.fma(c2, a2);
            b2 = xb.fma(c2, b2);
            FloatVector c3 = FloatVector.broadcast(S, coef[ci + 3 * cRow]);
            a3 = xa.fma(c3, a3);
            b3 = xb.fma(c3, b3);
        }
        a0.mul(scale).intoArray(y, yOff);
        a1.mul(scale).intoArray(y, yOff + yRow);
        a2.mul(scale).intoArray(y, yOff + 2 * yRow);
        a3.mul(scale).intoArray(y, yOff + 3 * yRow);
        b0.mul(scale).intoArray(y, yOff + L);
        b1.mul(scale).intoArray(y, yOff + L + yRow);
        b2.mul(scale).intoArray(y, yOff + L + 2 * yRow);
        b3.mul(scale).intoArray(y, yOff + L + 3 * yRow);
    }

    /** {@link #set4x2} that adds the sums to y instead (sum + y, as before). */
    private static void add4x2(float[] coef, int c, int cRow, int cStep, float[] x, int xOff, int xStep, int n,
                               float[] y, int yOff, int yRow) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        FloatVector b0 = FloatVector.zero(S), b1 = FloatVector.zero(S), b2 = FloatVector.zero(S), b3 = FloatVector.zero(S);
        for (int i = 0; i < n; i++) {
            int xi = xOff + i * xStep, ci = c + i * cStep;
            FloatVector xa = FloatVector.fromArray(S, x, xi), xb = FloatVector.fromArray(S, x, xi + L);
            FloatVector c0 = FloatVector.broadcast(S, coef[ci]);
            a0 = xa.fma(c0, a0);
            b0 = xb.fma(c0, b0);
            FloatVector c1 = FloatVector.broadcast(S, coef[ci + cRow]);
            a1 = xa.fma(c1, a1);
            b1 = xb.fma(c1, b1);
            FloatVector c2 = FloatVector.broadcast(S, coef[ci + 2 * cRow]);
            a2 = xa.fma(c2, a2);
            b2 = xb.fma(c2, b2);
            FloatVector c3 = FloatVector.broadcast(S, coef[ci + 3 * cRow]);
            a3 = xa.fma(c3, a3);
            b3 = xb.fma(c3, b3);
        }
        a0.add(FloatVector.fromArray(S, y, yOff)).intoArray(y, yOff);
        a1.add(FloatVector.fromArray(S, y, yOff + yRow)).intoArray(y, yOff + yRow);
        a2.add(FloatVector.fromArray(S, y, yOff + 2 * yRow)).intoArray(y, yOff + 2 * yRow);
        a3.add(FloatVector.fromArray(S, y, yOff + 3 * yRow)).intoArray(y, yOff + 3 * yRow);
        b0.add(FloatVector.fromArray(S, y, yOff + L)).intoArray(y, yOff + L);
        b1.add(FloatVector.fromArray(S, y, yOff + L + yRow)).intoArray(y, yOff + L + yRow);
        b2.add(FloatVector.fromArray(S, y, yOff + L + 2 * yRow)).intoArray(y, yOff + L + 2 * yRow);
        b3.add(FloatVector.fromArray(S, y, yOff + L + 3 * yRow)).intoArray(y, yOff + L + 3 * yRow);
    }

    /**
     * Eight keys by two vectors of the head: y[yOff + r * xStep ...+ 2L) += sum over i < n of
     * coef[c + r + i * cStep] * x[xOff + i * xStep ...+ 2L), for r < 8. With a head of two vectors (baby), four
     * keys gave 8 multiply-adds per two loads of x and four range-checked broadcasts; eight keys give 16 on
     * AVX-512's 32 registers. The keys past the first see zero coefficients before their own first query (the
     * causal mask), which leave their sums at +0: the same floats as four at a time.
     */
    private static void add8x2(float[] coef, int c, int cStep, float[] x, int xOff, int xStep, int n, float[] y, int yOff) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        FloatVector a4 = FloatVector.zero(S), a5 = FloatVector.zero(S), a6 = FloatVector.zero(S), a7 = FloatVector.zero(S);
        FloatVector b0 = FloatVector.zero(S), b1 = FloatVector.zero(S), b2 = FloatVector.zero(S), b3 = FloatVector.zero(S);
        FloatVector b4 = FloatVector.zero(S), b5 = FloatVector.zero(S), b6 = FloatVector.zero(S), b7 = FloatVector.zero(S);
        for (int i = 0; i < n; i++) {
            int xi = xOff + i * xStep, ci = c + i * cStep;
            FloatVector xa = FloatVector.fromArray(S, x, xi), xb = FloatVector.fromArray(S, x, xi + L);
            FloatVector c0 = FloatVector.broadcast(S, coef[ci]);
            a0 = xa.fma(c0, a0); b0 = xb.fma(c0, b0);
            FloatVector c1 = FloatVector.broadcast(S, coef[ci + 1]);
            a1 = xa.fma(c1, a1); b1 = xb.fma(c1, b1);
            FloatVector c2 = FloatVector.broadcast(S, coef[ci + 2]);
            a2 = xa.fma(c2, a2); b2 = xb.fma(c2, b2);
            FloatVector c3 = FloatVector.broadcast(S, coef[ci + 3]);
            a3 = xa.fma(c3, a3); b3 = xb.fma(c3, b3);
            FloatVector c4 = FloatVector.broadcast(S, coef[ci + 4]);
            a4 = xa.fma(c4, a4); b4 = xb.fma(c4, b4);
            FloatVector c5 = FloatVector.broadcast(S, coef[ci + 5]);
            a5 = xa.fma(c5, a5); b5 = xb.fma(c5, b5);
            FloatVector c6 = FloatVector.broadcast(S, coef[ci + 6]);
            a6 = xa.fma(c6, a6); b6 = xb.fma(c6, b6);
            FloatVector c7 = FloatVector.broadcast(S, coef[ci + 7]);
            a7 = xa.fma(c7, a7); b7 = xb.fma(c7, b7);
        }
        int y1 = yOff + xStep, y2 = y1 + xStep, y3 = y2 + xStep, y4 = y3 + xStep, y5 = y4 + xStep, y6 = y5 + xStep, y7 = y6 + xStep;
        a0.add(FloatVector.fromArray(S, y, yOff)).intoArray(y, yOff);
        b0.add(FloatVector.fromArray(S, y, yOff + L)).intoArray(y, yOff + L);
        a1.add(FloatVector.fromArray(S, y, y1)).intoArray(y, y1);
        b1.add(FloatVector.fromArray(S, y, y1 + L)).intoArray(y, y1 + L);
        a2.add(FloatVector.fromArray(S, y, y2)).intoArray(y, y2);
        b2.add(FloatVector.fromArray(S, y, y2 + L)).intoArray(y, y2 + L);
        a3.add(FloatVector.fromArray(S, y, y3)).intoArray(y, y3);
        b3.add(FloatVector.fromArray(S, y, y3 + L)).intoArray(y, y3 + L);
        a4.add(FloatVector.fromArray(S, y, y4)).intoArray(y, y4);
        b4.add(FloatVector.fromArray(S, y, y4 + L)).intoArray(y, y4 + L);
        a5.add(FloatVector.fromArray(S, y, y5)).intoArray(y, y5);
        b5.add(FloatVector.fromArray(S, y, y5 + L)).intoArray(y, y5 + L);
        a6.add(FloatVector.fromArray(S, y, y6)).intoArray(y, y6);
        b6.add(FloatVector.fromArray(S, y, y6 + L)).intoArray(y, y6 + L);
        a7.add(FloatVector.fromArray(S, y, y7)).intoArray(y, y7);
        b7.add(FloatVector.fromArray(S, y, y7 + L)).intoArray(y, y7 + L);
    }

    /** {@link #set4x2} for one vector column. */
    private static void set4(float[] coef, int c, int cRow, int cStep, float[] x, int xOff, int xStep, int n,
                             float[] y, int yOff, int yRow, float scale) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        for (int i = 0; i < n; i++) {
            FloatVector xi = FloatVector.fromArray(S, x, xOff + i * xStep);
            int ci = c + i * cStep;
            a0 = xi.fma(FloatVector.broadcast(S, coef[ci]), a0);
            a1 = xi.fma(FloatVector.broadcast(S, coef[ci + cRow]), a1);
            a2 = xi.fma(FloatVector.broadcast(S, coef[ci + 2 * cRow]), a2);
            a3 = xi.fma(FloatVector.broadcast(S, coef[ci + 3 * cRow]), a3);
        }
        a0.mul(scale).intoArray(y, yOff);
        a1.mul(scale).intoArray(y, yOff + yRow);
        a2.mul(scale).intoArray(y, yOff + 2 * yRow);
        a3.mul(scale).intoArray(y, yOff + 3 * yRow);
    }

    /** {@link #add4x2} for one vector column. */
    private static void add4(float[] coef, int c, int cRow, int cStep, float[] x, int xOff, int xStep, int n,
                             float[] y, int yOff, int yRow) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        for (int i = 0; i < n; i++) {
            FloatVector xi = FloatVector.fromArray(S, x, xOff + i * xStep);
            int ci = c + i * cStep;
            a0 = xi.fma(FloatVector.broadcast(S, coef[ci]), a0);
            a1 = xi.fma(FloatVector.broadcast(S, coef[ci + cRow]), a1);
            a2 = xi.fma(FloatVector.broadcast(S, coef[ci + 2 * cRow]), a2);
            a3 = xi.fma(FloatVector.broadcast(S, coef[ci + 3 * cRow]), a3);
        }
        a0.add(FloatVector.fromArray(S, y, yOff)).intoArray(y, yOff);
        a1.add(FloatVector.fromArray(S, y, yOff + yRow)).intoArray(y, yOff + yRow);
        a2.add(FloatVector.fromArray(S, y, yOff + 2 * yRow)).intoArray(y, yOff + 2 * yRow);
        a3.add(FloatVector.fromArray(S, y, yOff + 3 * yRow)).intoArray(y, yOff + 3 * yRow);
    }

    /** y[yOff + d] += sum over i < n of coef[c + i * cStride] * x[xOff + i * xStride + d], for d < hs. */
    private static void accumulate(float[] coef, int c, int cStride, float[] x, int xOff, int xStride, int n, int hs,
                                   float[] y, int yOff) {
        int d0 = 0;
        for (; d0 + L <= hs; d0 += L) {
            weightedSum(coef, c, cStride, x, xOff + d0, xStride, n, 1f, true, y, yOff + d0);
        }
        for (int d = d0; d < hs; d++) y[yOff + d] += scalarSum(coef, c, cStride, x, xOff + d, xStride, n);
    }

    /**
     * dst[dstOff ..+ L) = scale * (the vector sum over i < n of coef[c + i * cStride] * x[xOff + i * xStride ...+ L)),
     * or with add, dst + that sum (scale 1). Four partial sums, so that each FMA need not wait for the one before
     * (their latency, not their number, would set the pace). It stores its result rather than returning a
     * vector: the decoder's attention, compiled after this method, called it out of line, and every vector it
     * returned was a heap object (6-13 KB a baby token).
     */
    private static void weightedSum(float[] coef, int c, int cStride, float[] x, int xOff, int xStride, int n, float scale, boolean add,
                                    float[] dst, int dstOff) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            int ci = c + i * cStride, xi = xOff + i * xStride;
            a0 = FloatVector.fromArray(S, x, xi).fma(FloatVector.broadcast(S, coef[ci]), a0);
            a1 = FloatVector.fromArray(S, x, xi + xStride).fma(FloatVector.broadcast(S, coef[ci + cStride]), a1);
            a2 = FloatVector.fromArray(S, x, xi + 2 * xStride).fma(FloatVector.broadcast(S, coef[ci + 2 * cStride]), a2);
            a3 = FloatVector.fromArray(S, x, xi + 3 * xStride).fma(FloatVector.broadcast(S, coef[ci + 3 * cStride]), a3);
        }
        for (; i < n; i++) a0 = FloatVector.fromArray(S, x, xOff + i * xStride).fma(FloatVector.broadcast(S, coef[c + i * cStride]), a0);
        FloatVector sum = a0.add(a1).add(a2.add(a3));
        if (add) sum = sum.add(FloatVector.fromArray(S, dst, dstOff));
        else if (scale != 1f) sum = sum.mul(scale);
        sum.intoArray(dst, dstOff);
    }

    /** The same sum for one column (head sizes that are not a whole number of vectors). */
    private static float scalarSum(float[] coef, int c, int cStride, float[] x, int xOff, int xStride, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) sum = Math.fma(coef[c + i * cStride], x[xOff + i * xStride], sum);
        return sum;
    }

    /**
     * {@link Attention#decode}: new positions against their caches, heads [h0, h1). Chain i is row
     * i / (h1 - h0)'s head h0 + i % (h1 - h0), its scores at scores[i * stride ..]. Each step is taken for
     * every chain before the next, as softmaxWeights4 does for training's rows: a chain's steps depend on
     * each other (scores, maximum, exponentials, their sum, 1 / sum, the weighted sum of values), the chains'
     * do not, so theirs overlap. Each chain's floats are flashWeights's and weightedSum's.
     *
     * <p>Three methods, one per stage, each small enough for C2 to compile its loops with everything inlined:
     * as one method it called weightedSum and scaleRow out of line, some twenty calls a layer.
     */
    static void decode(float[] q, int[] qOff, float[][] keysT, int stride, float[][] values, int cacheStart, float[] out, int[] outOff,
                       float[] scores, int[] positions, int rows, int channels, int heads, int h0, int h1) {
        int hs = channels / heads, own = h1 - h0, n = rows * own;
        float[] lanes = decodeLanes(n);
        decodeScores(q, qOff, keysT, stride, cacheStart, scores, positions, n, own, h0 * hs, hs, (float) (1.0 / Math.sqrt(hs)));
        decodeWeights(scores, cacheStart, stride, positions, n, own, lanes);
        decodeOutputs(scores, stride, values, cacheStart, out, outOff, positions, n, own, h0 * hs, hs, channels);
    }

    /** Each chain's scores, q · k * scale for positions 0 .. positions[r] - 1, a vector of positions at a time. */
    private static void decodeScores(float[] q, int[] qOff, float[][] keysT, int stride, int start, float[] scores, int[] positions,
                                     int n, int own, int c0, int hs, float scale) {
        for (int i = 0; i < n; i++) {
            int r = i / own, off = c0 + (i % own) * hs;
            for (int s0 = 0; s0 < positions[r]; s0 += L) {
                sum4(q, qOff[r] + off, keysT[r], start + off * stride + s0, stride, hs, scale, scores, start + i * stride + s0);
            }
        }
    }

    /** Each chain's scores to softmax weights in place, flashWeights's steps and floats. */
    private static void decodeWeights(float[] scores, int start, int stride, int[] positions, int n, int own, float[] lanes) {
        int maxAt = LANES_AT + n * L;
        for (int i = 0; i < n; i++) lanes[maxAt + i] = rowMax(scores, start + i * stride, start + i * stride + positions[i / own]);
        for (int i = 0; i < n; i++) {
            expRow(scores, start + i * stride, start + i * stride + positions[i / own], lanes[maxAt + i], lanes, LANES_AT + i * L);
        }
        for (int i = 0; i < n; i++) lanes[maxAt + i] = 1f / SimdVec.laneSum(lanes, LANES_AT + i * L);
        for (int i = 0; i < n; i++) {
            int p = positions[i / own];
            scaleRow(scores, start + i * stride, p, paddedTime(p), lanes[maxAt + i]);
        }
    }

    /** Each chain's output, the values' sum weighted by its weights. */
    private static void decodeOutputs(float[] scores, int stride, float[][] values, int start, float[] out, int[] outOff, int[] positions,
                                      int n, int own, int c0, int hs, int channels) {
        for (int i = 0; i < n; i++) {
            int r = i / own, off = c0 + (i % own) * hs, o = outOff[r] + off, p = positions[r], d0 = 0;
            for (; d0 + L <= hs; d0 += L) sum4(scores, start + i * stride, values[r], start + off + d0, channels, p, 1f, out, o + d0);
            for (int d = d0; d < hs; d++) out[o + d] = scalarSum(scores, start + i * stride, 1, values[r], start + off + d, channels, p);
        }
    }

    /**
     * {@link #weightedSum}'s sum with cStride 1, without its add: the same floats. The decoder's own, kept
     * this small so that C2 inlines it into the decoder's loops (weightedSum, compiled on its own first for
     * training, is then too big to inline, and the calls took a fifth of the decoder's attention).
     */
    private static void sum4(float[] coef, int c, float[] x, int xOff, int xStride, int n, float scale, float[] dst, int dstOff) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        int i = 0, at = xOff;
        for (; i + 4 <= n; i += 4, at += 4 * xStride) {
            a0 = FloatVector.fromArray(S, x, at).fma(FloatVector.broadcast(S, coef[c + i]), a0);
            a1 = FloatVector.fromArray(S, x, at + xStride).fma(FloatVector.broadcast(S, coef[c + i + 1]), a1);
            a2 = FloatVector.fromArray(S, x, at + 2 * xStride).fma(FloatVector.broadcast(S, coef[c + i + 2]), a2);
            a3 = FloatVector.fromArray(S, x, at + 3 * xStride).fma(FloatVector.broadcast(S, coef[c + i + 3]), a3);
        }
        for (; i < n; i++, at += xStride) a0 = FloatVector.fromArray(S, x, at).fma(FloatVector.broadcast(S, coef[c + i]), a0);
        a0.add(a1).add(a2.add(a3)).mul(scale).intoArray(dst, dstOff);
    }

    /** Per thread: room for {@link #decode}'s lane sums and each chain's maximum, then 1 / sum. */
    private static final ThreadLocal<float[]> DECODE_LANES = ThreadLocal.withInitial(() -> new float[0]);

    private static float[] decodeLanes(int chains) {
        float[] lanes = DECODE_LANES.get();
        if (lanes.length < LANES_AT + chains * (L + 1)) DECODE_LANES.set(lanes = new float[LANES_AT + chains * (L + 1)]);
        return lanes;
    }

    /**
     * Where those floats start: on a cache line ({@link CacheLines}), as the scores do from cacheStart. A vector
     * stored across two lines is not forwarded to the loads that read it back a few instructions later.
     */
    private static final int LANES_AT = CacheLines.firstAlignedFloat();

    /** dst[d * tPad + s] = src[base + s * channels + d], with columns time..tPad zero. */
    private static void transposePadded(float[] src, int base, int channels, int hs, int time, int tPad, float[] dst) {
        // 16 positions at a time, so that both the rows read and the rows written stay in the first-level cache
        for (int s0 = 0; s0 < time; s0 += 16) {
            int s1 = Math.min(time, s0 + 16);
            for (int d = 0; d < hs; d++) {
                for (int s = s0; s < s1; s++) dst[d * tPad + s] = src[base + s * channels + d];
            }
        }
        for (int d = 0; d < hs; d++) java.util.Arrays.fill(dst, d * tPad + time, (d + 1) * tPad, 0f);
    }
}
