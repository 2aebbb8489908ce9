package dev.toygpt.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link LayerNorm}'s rows with the Vector API: the row sums (mean, variance, and in backward the two means
 * of the gradient) run a vector of partial sums instead of one long chain of dependent additions, which is
 * what bounds the scalar loop on rows of 64 to 384 values. Loaded only when the module is present.
 */
final class SimdLayerNorm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private SimdLayerNorm() {}

    /** The lanes of v added in {@link SimdVec#laneSum}'s fixed order, through lanes[at ..]. */
    private static float sum(FloatVector v, float[] lanes, int at) {
        v.intoArray(lanes, at);
        return SimdVec.laneSum(lanes, at);
    }

    /**
     * Rows per group of the forward pass. A row's mean, variance and scaling are one long chain of dependent
     * steps (each lane sum is sixteen additions in a row); taking each step for a group of rows before the
     * next step lets the processor overlap the rows' chains. Each row's floats are the same either way.
     */
    private static final int GROUP = 8;

    /** lanes: L floats of scratch from lanesAt (null: its own). */
    static void forwardRows(float[] x, float[] weight, float[] bias, float[] y, float[] mean, float[] rstd,
                            int r0, int r1, int n, float eps, float[] lanes, int lanesAt) {
        if (lanes == null) {
            lanes = new float[L];
            lanesAt = 0;
        }
        int vn = n - n % L;
        for (int g0 = r0; g0 < r1; g0 += GROUP) {
            int g1 = Math.min(r1, g0 + GROUP);
            for (int r = g0; r < g1; r++) {
                int off = r * n;
                FloatVector acc = FloatVector.zero(S);
                for (int j = 0; j < vn; j += L) acc = acc.add(FloatVector.fromArray(S, x, off + j));
                float m = sum(acc, lanes, lanesAt);
                for (int j = vn; j < n; j++) m += x[off + j];
                mean[r] = m / n;
            }
            for (int r = g0; r < g1; r++) {
                int off = r * n;
                float m = mean[r];
                FloatVector vm = FloatVector.broadcast(S, m);
                FloatVector acc = FloatVector.zero(S);
                for (int j = 0; j < vn; j += L) {
                    FloatVector d = FloatVector.fromArray(S, x, off + j).sub(vm);
                    acc = d.fma(d, acc);
                }
                float v = sum(acc, lanes, lanesAt);
                for (int j = vn; j < n; j++) {
                    float d = x[off + j] - m;
                    v += d * d;
                }
                v /= n;
                rstd[r] = (float) (1.0 / Math.sqrt(v + eps));
            }
            for (int r = g0; r < g1; r++) {
                int off = r * n;
                float m = mean[r], s = rstd[r];
                FloatVector vm = FloatVector.broadcast(S, m), vs = FloatVector.broadcast(S, s);
                for (int j = 0; j < vn; j += L) {
                    FloatVector xhat = FloatVector.fromArray(S, x, off + j).sub(vm).mul(vs);
                    xhat.fma(FloatVector.fromArray(S, weight, j), FloatVector.fromArray(S, bias, j)).intoArray(y, off + j);
                }
                for (int j = vn; j < n; j++) y[off + j] = (x[off + j] - m) * s * weight[j] + bias[j];
            }
        }
    }

    /** Rows [r0, r1) of the backward pass; partial[pw..] and partial[pb..] collect dWeight and dBias. */
    static void backwardRows(float[] x, float[] weight, float[] mean, float[] rstd, float[] dy, float[] dx,
                             float[] partial, int pw, int pb, int r0, int r1, int n) {
        float[] lanes = new float[L];
        int vn = n - n % L;
        for (int r = r0; r < r1; r++) {
            int off = r * n;
            float m = mean[r], s = rstd[r];
            FloatVector vm = FloatVector.broadcast(S, m), vs = FloatVector.broadcast(S, s);
            FloatVector gAcc = FloatVector.zero(S), gxAcc = FloatVector.zero(S);
            for (int j = 0; j < vn; j += L) {
                FloatVector xhat = FloatVector.fromArray(S, x, off + j).sub(vm).mul(vs);
                FloatVector d = FloatVector.fromArray(S, dy, off + j);
                FloatVector g = d.mul(FloatVector.fromArray(S, weight, j));
                gAcc = gAcc.add(g);
                gxAcc = g.fma(xhat, gxAcc);
                d.fma(xhat, FloatVector.fromArray(S, partial, pw + j)).intoArray(partial, pw + j);
                d.add(FloatVector.fromArray(S, partial, pb + j)).intoArray(partial, pb + j);
            }
            float gMean = sum(gAcc, lanes, 0), gxMean = sum(gxAcc, lanes, 0);
            for (int j = vn; j < n; j++) {
                float xhat = (x[off + j] - m) * s;
                float g = dy[off + j] * weight[j];
                gMean += g;
                gxMean += g * xhat;
                partial[pw + j] += dy[off + j] * xhat;
                partial[pb + j] += dy[off + j];
            }
            gMean /= n;
            gxMean /= n;
            if (dx == null) continue;
            FloatVector vg = FloatVector.broadcast(S, gMean), vgx = FloatVector.broadcast(S, gxMean);
            for (int j = 0; j < vn; j += L) {
                FloatVector xhat = FloatVector.fromArray(S, x, off + j).sub(vm).mul(vs);
                FloatVector g = FloatVector.fromArray(S, dy, off + j).mul(FloatVector.fromArray(S, weight, j));
                FloatVector t = g.sub(vg).sub(xhat.mul(vgx));
                t.fma(vs, FloatVector.fromArray(S, dx, off + j)).intoArray(dx, off + j);
            }
            for (int j = vn; j < n; j++) {
                float xhat = (x[off + j] - m) * s;
                float g = dy[off + j] * weight[j];
                dx[off + j] += s * (g - gMean - xhat * gxMean);
            }
        }
    }
}
