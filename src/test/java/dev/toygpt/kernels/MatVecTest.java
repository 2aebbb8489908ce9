package dev.toygpt.kernels;

import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The decoder's products: against a double-precision loop at whole and ragged widths; bit-identical to
 * {@link MatMul#vecMat} (what the decoder used before, so generated text does not change); and the several-rows
 * product bit-identical to one row at a time (what lets the decoder encode kept positions in one pass).
 */
class MatVecTest {
    private static final int[] INNER = {1, 7, 64, 130};
    private static final int[] COLS = {1, 5, 8, 17, 64, 65, 130, 192, 300};

    private static float[] random(Rng rng, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rng.nextGaussian();
        return a;
    }

    private static float[] packed(float[] w, int k, int n, int offset) {
        float[] dst = new float[offset + MatVec.packedSize(k, n)];
        MatVec.pack(w, k, n, dst, offset);
        return dst;
    }

    @Test
    void eachEpilogueMatchesAPlainLoop() {
        Rng rng = new Rng(7);
        for (int k : INNER) {
            for (int n : COLS) {
                float[] w = random(rng, n * k), x = random(rng, k), bias = random(rng, n), old = random(rng, n);
                float[] p = packed(w, k, n, 3);
                for (MatVec.Then then : MatVec.Then.values()) {
                    for (float[] b : new float[][] {null, bias}) {
                        float[] out = old.clone();
                        MatVec.apply(x, 0, p, 3, b, out, 0, k, n, then);
                        for (int j = 0; j < n; j++) {
                            double s = b == null ? 0 : b[j];
                            for (int q = 0; q < k; q++) s += (double) x[q] * w[j * k + q];
                            double expected = switch (then) {
                                case STORE -> s;
                                case RELU -> Math.max(s, 0);
                                case ADD -> old[j] + s;
                            };
                            assertEquals(expected, out[j], 1e-5 * k + 1e-5, k + " x " + n + " " + then + " bias " + (b != null) + " column " + j);
                        }
                    }
                }
            }
        }
    }

    @Test
    void givesBitForBitWhatTheTransposedVectorProductGives() {
        Rng rng = new Rng(8);
        for (int k : INNER) {
            for (int n : COLS) {
                float[] w = random(rng, n * k), x = random(rng, k), bias = random(rng, n), old = random(rng, n);
                float[] wt = new float[k * n];
                MatMul.transpose(w, wt, n, k);
                float[] h = new float[n];
                MatMul.vecMat(x, wt, bias, h, k, n);
                float[] p = packed(w, k, n, 0);
                float[] out = new float[n];
                MatVec.apply(x, 0, p, 0, bias, out, 0, k, n, MatVec.Then.STORE);
                assertArrayEquals(h, out, k + " x " + n);
                float[] relu = new float[n], added = old.clone(), expectedRelu = new float[n], expectedAdded = old.clone();
                for (int j = 0; j < n; j++) {
                    expectedRelu[j] = Math.max(h[j], 0f);
                    expectedAdded[j] += h[j];
                }
                MatVec.apply(x, 0, p, 0, bias, relu, 0, k, n, MatVec.Then.RELU);
                MatVec.apply(x, 0, p, 0, bias, added, 0, k, n, MatVec.Then.ADD);
                assertArrayEquals(expectedRelu, relu, "relu " + k + " x " + n);
                assertArrayEquals(expectedAdded, added, "add " + k + " x " + n);
            }
        }
    }

    @Test
    void severalRowsGiveBitForBitWhatOneRowAtATimeGives() {
        Rng rng = new Rng(9);
        for (int rows : new int[] {1, 2, 3, 4, 5, 7, 8, 13, 16}) {
            for (int k : INNER) {
                for (int n : COLS) {
                    // rows written into wider rows (some of a layer's columns), and into rows of exactly n
                    for (int[] at : new int[][] {{0, n}, {3, n + 7}}) {
                        int outOff = at[0], stride = at[1];
                        float[] w = random(rng, n * k), x = random(rng, rows * k), bias = random(rng, n);
                        float[] start = random(rng, outOff + rows * stride);
                        float[] p = packed(w, k, n, 5);
                        for (MatVec.Then then : MatVec.Then.values()) {
                            float[] together = start.clone(), alone = start.clone();
                            int r0 = rows > 4 ? 1 : 0; // a range that does not start at row 0
                            MatVec.applyRows(x, p, 5, bias, together, outOff, stride, r0, rows, k, n, then);
                            for (int r = r0; r < rows; r++) MatVec.apply(x, r * k, p, 5, bias, alone, outOff + r * stride, k, n, then);
                            String what = rows + " rows, " + k + " x " + n + " " + then + ", stride " + stride;
                            assertArrayEquals(alone, together, what);
                            for (int r = 0; r < rows; r++) { // what lies between the rows is left alone
                                for (int j = outOff + r * stride + n; j < outOff + (r + 1) * stride && j < start.length; j++) {
                                    assertEquals(start[j], together[j], what + ", float " + j);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * A product in parts gives, part by part, bit for bit the product of that part's inputs alone (each row
     * apart): whole and ragged widths, parts of one input to whole products, uneven cuts, one to three rows
     * of a wider row stride.
     */
    @Test
    void aProductInPartsGivesEachPartsOwnProductBitForBit() {
        Rng rng = new Rng(9);
        int[][] cutsOf = {{0, 64}, {0, 16, 32, 48, 64}, {0, 1, 64}, {0, 21, 42, 64}, {0, 3, 4, 5, 64}};
        for (int[] cuts : cutsOf) {
            int k = cuts[cuts.length - 1], parts = cuts.length - 1;
            for (int n : COLS) {
                for (int rows = 1; rows <= 3; rows++) {
                    int xStride = k + 5, partStride = rows * n + 2;
                    float[] w = random(rng, n * k), x = random(rng, rows * xStride);
                    float[] out = new float[parts * partStride + 1];
                    MatVec.applyInParts(x, xStride, packed(w, k, n, 2), 2, out, 1, n, partStride, 0, rows, k, cuts, n);
                    for (int i = 0; i < parts; i++) {
                        int from = cuts[i], size = cuts[i + 1] - from;
                        float[] wi = new float[n * size];
                        for (int j = 0; j < n; j++) System.arraycopy(w, j * k + from, wi, j * size, size);
                        for (int r = 0; r < rows; r++) {
                            float[] expected = new float[n];
                            MatVec.apply(java.util.Arrays.copyOfRange(x, r * xStride + from, r * xStride + from + size), 0, packed(wi, size, n, 0), 0,
                                    null, expected, 0, size, n, MatVec.Then.STORE);
                            float[] actual = java.util.Arrays.copyOfRange(out, 1 + i * partStride + r * n, 1 + i * partStride + (r + 1) * n);
                            assertArrayEquals(expected, actual, java.util.Arrays.toString(cuts) + " n " + n + " rows " + rows + " part " + i + " row " + r);
                        }
                    }
                }
            }
        }
    }

    /** The parts are added in order, then the bias, then to x: the same floats as that written out one by one. */
    @Test
    void partsAreAddedInOrderThenTheBias() {
        Rng rng = new Rng(10);
        for (int n : COLS) {
            for (int count : new int[] {1, 3, 4}) {
                float[] parts = random(rng, 3 + count * (n + 1)), bias = random(rng, n), x = random(rng, n + 2);
                for (float[] b : new float[][] {null, bias}) {
                    float[] expected = x.clone(), actual = x.clone();
                    for (int j = 0; j < n; j++) {
                        float sum = parts[3 + j];
                        for (int i = 1; i < count; i++) sum += parts[3 + i * (n + 1) + j];
                        expected[2 + j] += b == null ? sum : sum + b[j];
                    }
                    MatVec.addParts(parts, 3, n + 1, count, b, actual, 2, n);
                    assertArrayEquals(expected, actual, "n " + n + ", " + count + " parts, bias " + (b != null));
                }
            }
        }
    }
}
