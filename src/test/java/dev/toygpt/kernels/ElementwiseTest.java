package dev.toygpt.kernels;

import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The element-wise kernels against plain loops that add in the same order (rows ascending), so the results
 * must be equal to the bit, with and without the Vector API (the portable run repeats this class), at widths
 * that fill whole vectors, whole groups of four vectors, and ragged ones.
 */
class ElementwiseTest {
    private static final int[] WIDTHS = {1, 5, 8, 16, 37, 64, 65, 130, 256};

    @Test
    void columnSumsWriteOrAddTheSumsOfEachColumn() {
        Rng rng = new Rng(5);
        for (int n : WIDTHS) {
            int rows = 23;
            float[] m = random(rng, rows * n);
            float[] start = random(rng, n);
            float[] expectWrite = new float[n], expectAdd = start.clone();
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < n; j++) {
                    expectWrite[j] += m[r * n + j];
                    expectAdd[j] += m[r * n + j];
                }
            }
            float[] written = random(rng, n); // garbage that must be overwritten
            Elementwise.columnSums(m, rows, n, written, false);
            assertArrayEquals(expectWrite, written, "write, width " + n);
            float[] added = start.clone();
            Elementwise.columnSums(m, rows, n, added, true);
            assertArrayEquals(expectAdd, added, "add, width " + n);
        }
    }

    @Test
    void reluBackwardKeepsTheGradientWhereTheOutputWasPositiveAndSumsItsColumns() {
        Rng rng = new Rng(6);
        for (int n : WIDTHS) {
            int rows = 19;
            float[] y = random(rng, rows * n), dy = random(rng, rows * n);
            for (int i = 0; i < y.length; i += 3) y[i] = 0f; // a ReLU's output: zero is not positive
            for (int i = 0; i < y.length; i++) y[i] = Math.max(0f, y[i]);
            float[] masked = new float[dy.length];
            float[] sums = new float[n], start = random(rng, n), sumsAdded = start.clone();
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < n; j++) {
                    int i = r * n + j;
                    masked[i] = y[i] > 0f ? dy[i] : 0f;
                    sums[j] += masked[i];
                    sumsAdded[j] += masked[i];
                }
            }
            float[] g = dy.clone(), db = random(rng, n);
            Elementwise.reluBackwardInPlace(y, g, rows, n, db, false);
            assertArrayEquals(masked, g, "gradient, width " + n);
            assertArrayEquals(sums, db, "bias gradient, width " + n);
            g = dy.clone();
            db = start.clone();
            Elementwise.reluBackwardInPlace(y, g, rows, n, db, true);
            assertArrayEquals(sumsAdded, db, "bias gradient added, width " + n);
            g = dy.clone();
            Elementwise.reluBackwardInPlace(y, g, rows, n, null, false);
            assertArrayEquals(masked, g, "gradient without a bias, width " + n);
        }
    }

    @Test
    void additions() {
        Rng rng = new Rng(7);
        for (int n : WIDTHS) {
            int rows = 11;
            float[] a = random(rng, rows * n), b = random(rng, n), out = new float[rows * n];
            Elementwise.addRepeated(a, b, out);
            for (int i = 0; i < out.length; i++) assertEquals(a[i] + b[i % n], out[i], "repeated, width " + n);
            float[] dst = random(rng, rows * n), before = dst.clone();
            Elementwise.addInto(a, dst);
            for (int i = 0; i < dst.length; i++) assertEquals(before[i] + a[i], dst[i], "into, width " + n);
            float[] scaled = before.clone();
            Elementwise.addIntoAndScale(a, scaled, 0.5f);
            for (int i = 0; i < dst.length; i++) assertEquals((before[i] + a[i]) * 0.5f, scaled[i], "into and scaled, width " + n);
        }
    }

    @Test
    void rowsAddIntoTheRowsTheirIdsName() {
        Rng rng = new Rng(10);
        for (int n : WIDTHS) {
            int[] ids = {3, 0, 3, 2, 3, 1};
            float[] src = random(rng, ids.length * n), dst = random(rng, 4 * n), expect = dst.clone();
            for (int i = 0; i < ids.length; i++) {
                for (int j = 0; j < n; j++) expect[ids[i] * n + j] += src[i * n + j];
            }
            Elementwise.addRowsAt(src, ids, dst, n);
            assertArrayEquals(expect, dst, "width " + n);
        }
    }

    @Test
    void leakyReluOverAnyRange() {
        Rng rng = new Rng(8);
        float[] x = random(rng, 3000);
        for (float slope : new float[]{0f, 0.01f}) {
            float[] y = new float[x.length];
            Elementwise.leakyRelu(x, y, slope);
            for (int i = 0; i < x.length; i++) assertEquals(x[i] > 0f ? x[i] : x[i] * slope, y[i], "slope " + slope);
            float[] part = new float[x.length];
            Vec.leakyRelu(x, part, 5, 2001, slope);
            for (int i = 0; i < x.length; i++) assertEquals(i >= 5 && i < 2001 ? y[i] : 0f, part[i], "range, i=" + i);
        }
    }

    /** Threads share these passes by rows, spans or groups of columns: the results must not change with their number. */
    @Test
    void theSameResultsWithOneThreadOrTwo() {
        int defaultThreads = Parallel.threads();
        try {
            Rng rng = new Rng(9);
            int rows = 512;
            for (int n : new int[]{64, 65, 256}) {
                float[] m = random(rng, rows * n), y = random(rng, rows * n), b = random(rng, n), start = random(rng, n);
                float[][][] results = new float[2][][];
                for (int run = 0; run < 2; run++) {
                    Parallel.setThreads(run + 1);
                    float[] sums = start.clone(), added = new float[rows * n], into = y.clone(), relu = new float[rows * n];
                    float[] masked = m.clone(), dBias = new float[n];
                    Elementwise.columnSums(m, rows, n, sums, true);
                    Elementwise.addRepeated(m, b, added);
                    Elementwise.addInto(m, into);
                    Elementwise.leakyRelu(m, relu, 0f);
                    Elementwise.reluBackwardInPlace(y, masked, rows, n, dBias, false);
                    results[run] = new float[][]{sums, added, into, relu, masked, dBias};
                }
                for (int i = 0; i < results[0].length; i++) {
                    assertArrayEquals(results[0][i], results[1][i], "result " + i + ", width " + n);
                }
            }
        } finally {
            Parallel.setThreads(defaultThreads);
        }
    }

    private static float[] random(Rng rng, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rng.nextGaussian();
        return a;
    }
}
