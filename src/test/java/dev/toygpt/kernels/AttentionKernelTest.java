package dev.toygpt.kernels;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link Attention}'s forward and backward passes (the SIMD kernel where the Vector API is present, the plain
 * loops otherwise) against attention written out in doubles, straight from its definition: weights, outputs
 * and dq, dk, dv, with and without a dropout mask, at the presets' shapes and at ragged ones (a sequence that
 * is not whole groups of four or whole vectors, a head that is not whole vectors).
 */
class AttentionKernelTest {
    private final int defaultThreads = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(defaultThreads);
    }

    @ParameterizedTest(name = "b={0} t={1} c={2} heads={3} dropout={4}")
    @CsvSource({"2, 32, 64, 4, 0", "2, 32, 64, 4, 0.2", "1, 64, 128, 4, 0", "1, 64, 128, 4, 0.2", "3, 7, 12, 2, 0",
            "2, 37, 64, 4, 0", "2, 37, 64, 4, 0.3", "1, 45, 48, 2, 0.2", "1, 3, 8, 1, 0"})
    void matchesAttentionWrittenOutInDoubles(int b, int t, int c, int heads, float dropout) {
        Random r = new Random(31L * t + c);
        int n = b * t * c, hs = c / heads;
        float[] q = random(r, n), k = random(r, n), v = random(r, n), dOut = random(r, n);
        float[] mask = dropout == 0f ? null : new float[b * heads * t * t];
        if (mask != null) for (int i = 0; i < mask.length; i++) mask[i] = r.nextFloat() < dropout ? 0f : 1f / (1f - dropout);

        float[] out = new float[n], att = new float[b * heads * t * t], dq = new float[n], dk = new float[n], dv = new float[n];
        Attention.forward(q, k, v, out, att, mask, b, t, c, heads);
        Attention.backward(q, k, v, att, mask, dOut, dq, dk, dv, b, t, c, heads);

        double[] eOut = new double[n], eAtt = new double[att.length], eDq = new double[n], eDk = new double[n], eDv = new double[n];
        double scale = 1.0 / Math.sqrt(hs);
        for (int bh = 0; bh < b * heads; bh++) {
            int base = (bh / heads) * t * c + (bh % heads) * hs;
            for (int i = 0; i < t; i++) {
                int qi = base + i * c, row = (bh * t + i) * t;
                double[] w = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int s = 0; s <= i; s++) {
                    double dot = 0;
                    for (int d = 0; d < hs; d++) dot += (double) q[qi + d] * k[base + s * c + d];
                    w[s] = dot * scale;
                    max = Math.max(max, w[s]);
                }
                for (int s = 0; s <= i; s++) sum += w[s] = Math.exp(w[s] - max);
                double[] dw = new double[i + 1];
                double dot = 0;
                for (int s = 0; s <= i; s++) {
                    w[s] /= sum;
                    eAtt[row + s] = w[s];
                    double keep = mask == null ? 1 : mask[row + s];
                    int vs = base + s * c;
                    for (int d = 0; d < hs; d++) {
                        eOut[qi + d] += w[s] * keep * v[vs + d];
                        eDv[vs + d] += w[s] * keep * dOut[qi + d];
                        dw[s] += (double) dOut[qi + d] * v[vs + d] * keep;
                    }
                    dot += dw[s] * w[s];
                }
                for (int s = 0; s <= i; s++) {
                    double ds = w[s] * (dw[s] - dot) * scale;
                    int ks = base + s * c;
                    for (int d = 0; d < hs; d++) {
                        eDq[qi + d] += ds * k[ks + d];
                        eDk[ks + d] += ds * q[qi + d];
                    }
                }
            }
        }
        assertClose(eAtt, att, "weights");
        assertClose(eOut, out, "output");
        assertClose(eDq, dq, "dq");
        assertClose(eDk, dk, "dk");
        assertClose(eDv, dv, "dv");
        for (int bh = 0; bh < b * heads; bh++) { // the causal mask: nothing past each query
            for (int i = 0; i < t; i++) {
                for (int s = i + 1; s < t; s++) assertEquals(0f, att[(bh * t + i) * t + s]);
            }
        }
    }

    /** Each (batch, head) is worked on by one thread from start to end, so the thread count changes no bit. */
    @Test
    void givesTheSameBitsOnOneAndTwoThreads() {
        int b = 4, t = 37, c = 64, heads = 4, n = b * t * c;
        Random r = new Random(5);
        float[] q = random(r, n), k = random(r, n), v = random(r, n), dOut = random(r, n);
        float[] mask = new float[b * heads * t * t];
        for (int i = 0; i < mask.length; i++) mask[i] = r.nextFloat() < 0.2f ? 0f : 1.25f;
        float[][] one = null;
        for (int threads : new int[] {1, 2}) {
            Parallel.setThreads(threads);
            float[] out = new float[n], att = new float[b * heads * t * t], dq = new float[n], dk = new float[n], dv = new float[n];
            Attention.forward(q, k, v, out, att, mask, b, t, c, heads);
            Attention.backward(q, k, v, att, mask, dOut, dq, dk, dv, b, t, c, heads);
            float[][] all = {out, att, dq, dk, dv};
            if (one == null) one = all;
            else for (int i = 0; i < all.length; i++) assertArrayEquals(one[i], all[i], "result " + i);
        }
    }

    /**
     * The SIMD kernel's forward pass makes its weights with the operations of {@link FlashAttention}'s, so the
     * two give the same outputs bit for bit (without dropout, which they take in different forms).
     */
    @Test
    void theSimdForwardPassGivesFlashAttentionsOutputs() {
        assumeTrue(MatMul.SIMD, "needs the Vector API");
        for (int[] shape : new int[][] {{2, 32, 64, 4}, {1, 64, 128, 4}, {2, 37, 48, 2}}) {
            int b = shape[0], t = shape[1], c = shape[2], heads = shape[3], n = b * t * c;
            Random r = new Random(t);
            float[] q = random(r, n), k = random(r, n), v = random(r, n);
            float[] plain = new float[n], flash = new float[n];
            Attention.forward(q, k, v, plain, new float[b * heads * t * t], null, b, t, c, heads);
            FlashAttention.forward(q, k, v, flash, null, 0f, 0, b, t, c, heads);
            assertArrayEquals(plain, flash, Arrays.toString(shape));
        }
    }

    /**
     * Generation's attention: two new positions, each against a cache of its own (as the decoder's new token
     * and its place in the next window), heads [h0, h1), against the definition in doubles; and bit for bit
     * what each row and head gives on its own, since the kernel takes every head of both rows step by step
     * together. Heads of 16 floats (one AVX-512 vector), 32, and 12 and 20 (not whole vectors), caches of
     * 1 to 40 positions (not whole vectors either).
     */
    @ParameterizedTest(name = "c={0} heads={1} h0={2} h1={3} positions={4},{5}")
    @CsvSource({"64, 4, 0, 4, 32, 16", "64, 4, 2, 4, 17, 1", "128, 4, 1, 3, 64, 33", "36, 3, 0, 3, 40, 7", "40, 2, 1, 2, 5, 3",
            "64, 4, 0, 4, 1, 1"})
    void decodingTwoRowsIsEachRowOnItsOwnAndMatchesDoubles(int c, int heads, int h0, int h1, int p0, int p1) {
        Random r = new Random(c * 100L + p0);
        int stride = Attention.keyCacheStride(Math.max(p0, p1)), hs = c / heads, qStride = 3 * c;
        int[] positions = {p0, p1};
        float[][] keysT = {random(r, c * stride), random(r, c * stride)}, values = {random(r, p0 * c), random(r, p1 * c)};
        float[] q = random(r, 2 * qStride), out = new float[2 * c];
        int[] qOff = {0, qStride}, outOff = {0, c};
        Attention.decode(q, qOff, keysT, stride, values, out, outOff, new float[2 * heads * stride], positions, 2, c, heads, h0, h1);

        for (int row = 0; row < 2; row++) {
            int n = positions[row];
            double[] expected = new double[(h1 - h0) * hs];
            float[] actual = new float[(h1 - h0) * hs];
            for (int h = h0; h < h1; h++) {
                double[] w = new double[n];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int s = 0; s < n; s++) {
                    for (int d = 0; d < hs; d++) w[s] += (double) q[qOff[row] + h * hs + d] * keysT[row][(h * hs + d) * stride + s];
                    w[s] /= Math.sqrt(hs);
                    max = Math.max(max, w[s]);
                }
                for (int s = 0; s < n; s++) sum += w[s] = Math.exp(w[s] - max);
                for (int d = 0; d < hs; d++) {
                    for (int s = 0; s < n; s++) expected[(h - h0) * hs + d] += w[s] / sum * values[row][s * c + h * hs + d];
                }
                System.arraycopy(out, outOff[row] + h * hs, actual, (h - h0) * hs, hs);

                float[] alone = new float[c];
                Attention.decode(q, new int[] {qOff[row]}, new float[][] {keysT[row]}, stride, new float[][] {values[row]}, alone,
                        new int[] {0}, new float[stride], new int[] {n}, 1, c, heads, h, h + 1);
                assertArrayEquals(Arrays.copyOfRange(alone, h * hs, (h + 1) * hs), Arrays.copyOfRange(out, outOff[row] + h * hs,
                        outOff[row] + (h + 1) * hs), "row " + row + ", head " + h + " alone");
            }
            assertClose(expected, actual, "row " + row);
        }
        for (int i = 0; i < 2 * c; i++) {
            int h = i % c / hs;
            if (h < h0 || h >= h1) assertEquals(0f, out[i], "column " + i + " belongs to a head not asked for");
        }
    }

    /**
     * Caches whose floats begin at an offset in their arrays (the decoder starts them on a cache line) give
     * bit for bit what the same caches from index 0 give; nothing before the offset is read: it is NaN here.
     */
    @ParameterizedTest(name = "start={0}")
    @CsvSource({"1", "12", "16"})
    void cachesFromAnOffsetGiveTheSameOutputs(int start) {
        int c = 64, heads = 4, stride = Attention.keyCacheStride(32);
        Random r = new Random(start);
        int[] positions = {29, 13};
        float[][] keysT = {random(r, c * stride), random(r, c * stride)}, values = {random(r, 32 * c), random(r, 32 * c)};
        float[][] keysAt = new float[2][], valuesAt = new float[2][];
        for (int row = 0; row < 2; row++) {
            keysAt[row] = shifted(keysT[row], start);
            valuesAt[row] = shifted(values[row], start);
        }
        float[] q = random(r, 2 * 3 * c), expected = new float[2 * c], actual = new float[2 * c];
        int[] qOff = {0, 3 * c}, outOff = {0, c};
        Attention.decode(q, qOff, keysT, stride, values, expected, outOff, new float[2 * heads * stride], positions, 2, c, heads, 0, heads);
        Attention.decode(q, qOff, keysAt, stride, valuesAt, start, actual, outOff, new float[start + 2 * heads * stride], positions, 2, c,
                heads, 0, heads);
        assertArrayEquals(expected, actual);
    }

    /** a's floats from index start of a new array, NaN before them. */
    private static float[] shifted(float[] a, int start) {
        float[] b = new float[start + a.length];
        Arrays.fill(b, 0, start, Float.NaN);
        System.arraycopy(a, 0, b, start, a.length);
        return b;
    }

    private static void assertClose(double[] expected, float[] actual, String what) {
        double max = 0;
        for (double x : expected) max = Math.max(max, Math.abs(x));
        assertTrue(max > 0.01, what + " is all zeros: nothing was compared");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 2e-6 * Math.max(1, max), what + "[" + i + "]");
        }
    }

    private static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }
}
