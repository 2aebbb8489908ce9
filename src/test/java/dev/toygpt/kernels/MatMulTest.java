package dev.toygpt.kernels;

import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The three products of a Linear layer against a plain double-precision loop, at sizes that the register
 * tiles cover exactly (rows in multiples of 4 and 6, columns in whole panels) and ragged ones (a row or a
 * column left over, K and N past one cache block), with and without accumulation and bias.
 */
class MatMulTest {
    // 99: past the kernel's block of 96 rows (tiles read in place on AVX-512), ending in a ragged tile; 203: past
    // the block of 192 rows where A is packed (the weight gradient's Aᵀ on AVX-512)
    private static final int[] ROWS = {1, 3, 4, 6, 8, 10, 12, 13, 18, 24, 37, 99, 203};
    private static final int[] INNER = {1, 7, 64, 300};
    private static final int[] COLS = {1, 8, 15, 16, 17, 64, 65, 128, 300};

    private static float[] random(Rng rng, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rng.nextGaussian();
        return a;
    }

    /** C(i,j) = start(i,j) + sum_p A(i,p) B(p,j), with A(i,p) = a[i*ars + p*acs] and B(p,j) = b[p*brs + j*bcs]. */
    private static double[] reference(float[] a, int ars, int acs, float[] b, int brs, int bcs, float[] start, int m, int k, int n) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = start == null ? 0 : start[i * n + j];
                for (int p = 0; p < k; p++) s += (double) a[i * ars + p * acs] * b[p * brs + j * bcs];
                c[i * n + j] = s;
            }
        }
        return c;
    }

    private static void assertClose(double[] expected, float[] actual, int k, String what) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-5 * k + 1e-5, what + " element " + i);
        }
    }

    @Test
    void everyLayoutMatchesAPlainLoopAtRaggedSizes() {
        Rng rng = new Rng(91);
        for (int m : ROWS) {
            for (int k : INNER) {
                for (int n : COLS) {
                    String shape = m + " x " + k + " x " + n;
                    float[] start = random(rng, m * n);
                    // C = A B, A (m, k), B (k, n); accumulating onto C
                    float[] a = random(rng, m * k), b = random(rng, k * n), c = start.clone();
                    MatMul.matmul(a, b, c, m, k, n, true);
                    assertClose(reference(a, k, 1, b, n, 1, start, m, k, n), c, k, "matmul += " + shape);
                    // C = A Bᵀ, B stored (n, k): y = x Wᵀ
                    float[] w = random(rng, n * k);
                    c = new float[m * n];
                    MatMul.matmulTransB(a, w, c, m, k, n, false);
                    assertClose(reference(a, k, 1, w, 1, k, null, m, k, n), c, k, "matmulTransB " + shape);
                    // the same with a bias where each row starts
                    float[] bias = random(rng, n), biasRows = new float[m * n];
                    for (int i = 0; i < m; i++) System.arraycopy(bias, 0, biasRows, i * n, n);
                    MatMul.linear(a, w, bias, c, m, k, n);
                    assertClose(reference(a, k, 1, w, 1, k, biasRows, m, k, n), c, k, "linear " + shape);
                    // C = Aᵀ B, A stored (k, m): dW = dyᵀ x
                    float[] at = random(rng, k * m);
                    c = start.clone();
                    MatMul.matmulTransA(at, b, c, m, k, n, true);
                    assertClose(reference(at, 1, m, b, n, 1, start, m, k, n), c, k, "matmulTransA += " + shape);
                }
            }
        }
    }

    /**
     * dW = dyᵀ x packs dy's columns 16 rows at a time on AVX-512 (a last group partial), the other layouts read
     * A packed tile by tile or in place: all add the same terms in the same order, so Aᵀ B equals the product of
     * A transposed bit for bit.
     */
    @Test
    void transposedAGivesTheSameBitsAsATransposed() {
        Rng rng = new Rng(93);
        int[][] shapes = {{384, 768, 128}, {128, 768, 512}, {65, 300, 128}, {8, 257, 64}, {12, 5, 192}, {13, 64, 65}, {20, 40, 64}, {100, 64, 128}, {30, 9, 64}};
        for (int[] s : shapes) {
            int m = s[0], k = s[1], n = s[2];
            float[] at = random(rng, k * m), b = random(rng, k * n), a = new float[m * k], start = random(rng, m * n);
            MatMul.transpose(at, a, k, m);
            for (boolean accumulate : new boolean[] {false, true}) {
                float[] viaT = start.clone(), plain = start.clone();
                MatMul.matmulTransA(at, b, viaT, m, k, n, accumulate);
                MatMul.matmul(a, b, plain, m, k, n, accumulate);
                assertArrayEquals(plain, viaT, m + " x " + k + " x " + n + (accumulate ? " +=" : ""));
            }
        }
    }

    @Test
    void linearReluGivesTheFloatsOfLinearThenRelu() {
        int saved = Parallel.threads();
        Rng rng = new Rng(93);
        // seed's expand layer; ragged rows and columns (edge tiles); K over one block (the ReLU waits for the last)
        int[][] shapes = {{512, 64, 256}, {37, 64, 65}, {13, 300, 17}, {6, 600, 128}, {99, 7, 300}};
        try {
            for (int[] s : shapes) {
                int m = s[0], k = s[1], n = s[2];
                float[] x = random(rng, m * k), w = random(rng, n * k), bias = random(rng, n);
                for (int threads = 1; threads <= 2; threads++) {
                    Parallel.setThreads(threads);
                    float[] expected = new float[m * n], actual = new float[m * n];
                    MatMul.linear(x, w, bias, expected, m, k, n);
                    Activations.leakyRelu(expected, expected, 0f);
                    java.util.Arrays.fill(actual, Float.NaN);
                    MatMul.linearRelu(x, w, bias, actual, m, k, n);
                    assertArrayEquals(expected, actual, "relu(linear) of " + m + " x " + k + " x " + n + " on " + threads + " threads");
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void productsAreBitIdenticalAcrossThreadCounts() {
        int saved = Parallel.threads();
        Rng rng = new Rng(92);
        // row counts whose chunks split into six-row tiles differently on one, two and three threads
        // ... and K long and ragged with N not a whole number of panels (the weight gradient's B is packed
        // in blocks of eight rows shared between the threads, the forward's Wᵀ in pieces of 64 rows of a panel:
        // seed's contract layer, 256 x 64, is one panel of four pieces)
        int[][] shapes = {{100, 64, 64}, {520, 128, 64}, {96, 300, 48}, {36, 40, 65}, {70, 1037, 97}, {13, 2051, 200}, {130, 700, 128},
                {512, 256, 64}};
        try {
            for (int[] s : shapes) {
                int m = s[0], k = s[1], n = s[2];
                float[] a = random(rng, m * k), w = random(rng, n * k), b = random(rng, k * n), at = random(rng, k * m);
                float[][] first = null;
                for (int threads = 1; threads <= 3; threads++) {
                    Parallel.setThreads(threads);
                    float[] y = new float[m * n], z = new float[m * n], g = new float[m * n];
                    MatMul.linear(a, w, null, y, m, k, n);
                    MatMul.matmul(a, b, z, m, k, n, false);
                    MatMul.matmulTransA(at, b, g, m, k, n, false);
                    float[][] now = {y, z, g};
                    if (first == null) first = now;
                    for (int i = 0; i < 3; i++) {
                        assertArrayEquals(first[i], now[i], "product " + i + " of " + m + " x " + k + " x " + n + " on " + threads + " threads");
                    }
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void peakRateIsMeasuredWithTheSameKernel() {
        double gflops = PeakRate.gflops(64, 1, 3);
        assertTrue(gflops > 0 && Double.isFinite(gflops), "rate " + gflops);
        assertThrows(IllegalArgumentException.class, () -> PeakRate.gflops(0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> PeakRate.gflops(64, 1, 0));
    }
}
