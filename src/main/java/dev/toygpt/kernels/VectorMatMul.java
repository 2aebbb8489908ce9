package dev.toygpt.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The matrix product with SIMD registers (the JDK's Vector API), used when the JVM runs with
 * {@code --add-modules jdk.incubator.vector}. C(M,N) += A·B where A(i,p) = a[i*aRowStride + p*aColStride]
 * and B is row-major (K,N); the stride lets the same loops read A or Aᵀ.
 *
 * <p>The core is a 4 x 2L (AVX2) or 4 x 4L (AVX-512) register tile, L = floats per vector: each step of p
 * loads a row of the tile's panel of B and broadcasts four values of A into the accumulators, so C is read
 * and written once per tile, not once per p. K and N are cut into blocks so the part of B in use stays in the L2 cache.
 */
final class VectorMatMul {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final int K_BLOCK = 256;
    private static final int N_BLOCK = 256;

    private VectorMatMul() {}

    /**
     * Vectors per row of the register tile: four where there are 32 vector registers (AVX-512: a 4 x 4 tile
     * keeps 16 accumulators and needs 8 loads for 16 FMAs), two where there are 16 (AVX2).
     */
    private static final int TILE_VECTORS = L >= 16 ? 4 : 2;
    /** Width of a packed panel of B: the width of the register tile. */
    static final int PANEL = TILE_VECTORS * L;

    /**
     * Copies B(K,N) into panels of PANEL columns, each stored row after row ((N/PANEL) x K x PANEL), so the
     * tile reads B as one contiguous stream. Columns past the last full panel stay in B. Returns packed,
     * which must hold {@link #packedSize} floats.
     */
    static float[] packB(float[] b, int k, int n, float[] packed) {
        if (n == PANEL) return b; // one panel: B is already laid out so
        int panels = n / PANEL;
        for (int p = 0; p < k; p++) {
            for (int q = 0; q < panels; q++) {
                System.arraycopy(b, p * n + q * PANEL, packed, (q * k + p) * PANEL, PANEL);
            }
        }
        return packed;
    }

    /** True when whole register tiles cover C(M,N): then the kernel reads B only from its packed panels. */
    static boolean tilesCover(int m, int n) {
        return m % 4 == 0 && n % PANEL == 0 && N_BLOCK % PANEL == 0;
    }

    /**
     * The panels of B = Wᵀ packed straight from W(N,K), a PyTorch weight, without transposing it first;
     * full panels only. Sixteen values of a row of W at a time: one cache line read, sixteen written.
     */
    static float[] packTransposedB(float[] w, int k, int n, float[] packed) {
        for (int q = 0; q < n / PANEL; q++) {
            int panel = q * k * PANEL;
            for (int p0 = 0; p0 < k; p0 += 16) {
                int p1 = Math.min(k, p0 + 16);
                for (int jj = 0; jj < PANEL; jj++) {
                    int row = (q * PANEL + jj) * k;
                    for (int p = p0; p < p1; p++) packed[panel + p * PANEL + jj] = w[row + p];
                }
            }
        }
        return packed;
    }

    /** Floats that {@link #packB} writes. */
    static int packedSize(int k, int n) {
        return n / PANEL * k * PANEL;
    }

    /** Rows [r0, r1) of C += A·B. */
    static void rows(float[] a, int aRowStride, int aColStride, float[] b, float[] packed, float[] c, int r0, int r1, int k, int n) {
        boolean panels = n % PANEL == 0; // whole panels only: six-row tiles leave no columns for the narrower tiles
        for (int j0 = 0; j0 < n; j0 += N_BLOCK) {
            int j1 = Math.min(n, j0 + N_BLOCK);
            for (int p0 = 0; p0 < k; p0 += K_BLOCK) {
                int p1 = Math.min(k, p0 + K_BLOCK);
                int i = r0;
                if (TILE_VECTORS == 2 && panels) {
                    // AVX2 has 16 vector registers: six rows of two vectors (12 accumulators, 2 of B and a broadcast)
                    // do 12 multiply-adds per 8 loads, where four rows do 8 per 6 and leave the loop's overhead less covered.
                    // As many six-row tiles as leave a multiple of four rows, since B's panels may be all there is of B.
                    int six = (r1 - r0) / 6;
                    while (six > 0 && (r1 - r0 - 6 * six) % 4 != 0) six--;
                    for (int end = r0 + 6 * six; i < end; i += 6) {
                        int aBase = i * aRowStride;
                        for (int j = j0; j + PANEL <= j1; j += PANEL) {
                            tile6x2(a, aBase, aColStride, aRowStride, packed, (j / PANEL) * k * PANEL, c, i, j, p0, p1, n);
                        }
                    }
                }
                for (; i + 4 <= r1; i += 4) {
                    // The tile reads A(i + r, p) at i * aRowStride + p * aColStride + r * aRowStride, in place:
                    // a broadcast from memory costs the same wherever the value sits, so A is never copied.
                    int aBase = i * aRowStride;
                    int j = j0;
                    for (; j + PANEL <= j1; j += PANEL) {
                        if (TILE_VECTORS == 4) tile4x4(a, aBase, aColStride, aRowStride, packed, (j / PANEL) * k * PANEL, c, i, j, p0, p1, n);
                        else tile4x2(a, aBase, aColStride, aRowStride, packed, (j / PANEL) * k * PANEL, c, i, j, p0, p1, n);
                    }
                    for (; j + L <= j1; j += L) tile4x1(a, aRowStride, aColStride, b, c, i, j, p0, p1, n);
                    for (int r = i; r < i + 4; r++) scalar(a, aRowStride, aColStride, b, c, r, j, j1, p0, p1, n);
                }
                for (; i < r1; i++) {
                    int j = j0;
                    for (; j + L <= j1; j += L) tile1x1(a, aRowStride, aColStride, b, c, i, j, p0, p1, n);
                    scalar(a, aRowStride, aColStride, b, c, i, j, j1, p0, p1, n);
                }
            }
        }
    }

    /** out(N) = bias + x(K) · wt(K,N), four vectors of out held in registers while x is read. */
    static void vecMat(float[] x, float[] wt, float[] bias, float[] out, int k, int n) {
        int j = 0;
        for (; j + 4 * L <= n; j += 4 * L) {
            FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
            for (int p = 0; p < k; p++) {
                FloatVector xp = FloatVector.broadcast(S, x[p]);
                int row = p * n + j;
                a0 = FloatVector.fromArray(S, wt, row).fma(xp, a0);
                a1 = FloatVector.fromArray(S, wt, row + L).fma(xp, a1);
                a2 = FloatVector.fromArray(S, wt, row + 2 * L).fma(xp, a2);
                a3 = FloatVector.fromArray(S, wt, row + 3 * L).fma(xp, a3);
            }
            a0.intoArray(out, j);
            a1.intoArray(out, j + L);
            a2.intoArray(out, j + 2 * L);
            a3.intoArray(out, j + 3 * L);
        }
        for (; j + L <= n; j += L) {
            FloatVector a = FloatVector.zero(S);
            for (int p = 0; p < k; p++) a = FloatVector.fromArray(S, wt, p * n + j).fma(FloatVector.broadcast(S, x[p]), a);
            a.intoArray(out, j);
        }
        for (; j < n; j++) {
            float sum = 0f;
            for (int p = 0; p < k; p++) sum = Math.fma(x[p], wt[p * n + j], sum);
            out[j] = sum;
        }
        if (bias != null) {
            for (j = 0; j < n; j++) out[j] += bias[j];
        }
    }

    /** C[i..i+3][j..j+PANEL) += A[i..i+3][p0..p1) · B[p0..p1)[j..j+PANEL); A(i + r, p) = ap[aBase + p * aStep + r * rStep], B packed. */
    private static void tile4x2(float[] ap, int aBase, int aStep, int rStep, float[] bp, int bBase, float[] c, int i, int j, int p0, int p1, int n) {
        int c0 = i * n + j, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
        FloatVector c00 = FloatVector.fromArray(S, c, c0), c01 = FloatVector.fromArray(S, c, c0 + L);
        FloatVector c10 = FloatVector.fromArray(S, c, c1), c11 = FloatVector.fromArray(S, c, c1 + L);
        FloatVector c20 = FloatVector.fromArray(S, c, c2), c21 = FloatVector.fromArray(S, c, c2 + L);
        FloatVector c30 = FloatVector.fromArray(S, c, c3), c31 = FloatVector.fromArray(S, c, c3 + L);
        for (int p = p0; p < p1; p++) {
            int bRow = bBase + p * PANEL, q = aBase + p * aStep;
            FloatVector b0 = FloatVector.fromArray(S, bp, bRow), b1 = FloatVector.fromArray(S, bp, bRow + L);
            FloatVector x = FloatVector.broadcast(S, ap[q]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[q + rStep]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[q + 2 * rStep]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[q + 3 * rStep]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
        }
        c00.intoArray(c, c0);
        c01.intoArray(c, c0 + L);
        c10.intoArray(c, c1);
        c11.intoArray(c, c1 + L);
        c20.intoArray(c, c2);
        c21.intoArray(c, c2 + L);
        c30.intoArray(c, c3);
        c31.intoArray(c, c3 + L);
    }

    /** As {@link #tile4x2}, six rows: the AVX2 register tile. */
    private static void tile6x2(float[] ap, int aBase, int aStep, int rStep, float[] bp, int bBase, float[] c, int i, int j, int p0, int p1, int n) {
        int c0 = i * n + j, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n, c4 = c3 + n, c5 = c4 + n;
        FloatVector c00 = FloatVector.fromArray(S, c, c0), c01 = FloatVector.fromArray(S, c, c0 + L);
        FloatVector c10 = FloatVector.fromArray(S, c, c1), c11 = FloatVector.fromArray(S, c, c1 + L);
        FloatVector c20 = FloatVector.fromArray(S, c, c2), c21 = FloatVector.fromArray(S, c, c2 + L);
        FloatVector c30 = FloatVector.fromArray(S, c, c3), c31 = FloatVector.fromArray(S, c, c3 + L);
        FloatVector c40 = FloatVector.fromArray(S, c, c4), c41 = FloatVector.fromArray(S, c, c4 + L);
        FloatVector c50 = FloatVector.fromArray(S, c, c5), c51 = FloatVector.fromArray(S, c, c5 + L);
        for (int p = p0; p < p1; p++) {
            int bRow = bBase + p * PANEL, q = aBase + p * aStep;
            FloatVector b0 = FloatVector.fromArray(S, bp, bRow), b1 = FloatVector.fromArray(S, bp, bRow + L);
            FloatVector x = FloatVector.broadcast(S, ap[q]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[q + rStep]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[q + 2 * rStep]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[q + 3 * rStep]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[q + 4 * rStep]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[q + 5 * rStep]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        c00.intoArray(c, c0);
        c01.intoArray(c, c0 + L);
        c10.intoArray(c, c1);
        c11.intoArray(c, c1 + L);
        c20.intoArray(c, c2);
        c21.intoArray(c, c2 + L);
        c30.intoArray(c, c3);
        c31.intoArray(c, c3 + L);
        c40.intoArray(c, c4);
        c41.intoArray(c, c4 + L);
        c50.intoArray(c, c5);
        c51.intoArray(c, c5 + L);
    }

    /** As {@link #tile4x2}, four vectors wide. */
    private static void tile4x4(float[] ap, int aBase, int aStep, int rStep, float[] bp, int bBase, float[] c, int i, int j, int p0, int p1, int n) {
        int c0 = i * n + j, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
        FloatVector c00 = FloatVector.fromArray(S, c, c0), c01 = FloatVector.fromArray(S, c, c0 + L);
        FloatVector c02 = FloatVector.fromArray(S, c, c0 + 2 * L), c03 = FloatVector.fromArray(S, c, c0 + 3 * L);
        FloatVector c10 = FloatVector.fromArray(S, c, c1), c11 = FloatVector.fromArray(S, c, c1 + L);
        FloatVector c12 = FloatVector.fromArray(S, c, c1 + 2 * L), c13 = FloatVector.fromArray(S, c, c1 + 3 * L);
        FloatVector c20 = FloatVector.fromArray(S, c, c2), c21 = FloatVector.fromArray(S, c, c2 + L);
        FloatVector c22 = FloatVector.fromArray(S, c, c2 + 2 * L), c23 = FloatVector.fromArray(S, c, c2 + 3 * L);
        FloatVector c30 = FloatVector.fromArray(S, c, c3), c31 = FloatVector.fromArray(S, c, c3 + L);
        FloatVector c32 = FloatVector.fromArray(S, c, c3 + 2 * L), c33 = FloatVector.fromArray(S, c, c3 + 3 * L);
        for (int p = p0; p < p1; p++) {
            int bRow = bBase + p * PANEL, q = aBase + p * aStep;
            FloatVector b0 = FloatVector.fromArray(S, bp, bRow), b1 = FloatVector.fromArray(S, bp, bRow + L);
            FloatVector b2 = FloatVector.fromArray(S, bp, bRow + 2 * L), b3 = FloatVector.fromArray(S, bp, bRow + 3 * L);
            FloatVector x = FloatVector.broadcast(S, ap[q]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            c02 = x.fma(b2, c02);
            c03 = x.fma(b3, c03);
            x = FloatVector.broadcast(S, ap[q + rStep]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            c12 = x.fma(b2, c12);
            c13 = x.fma(b3, c13);
            x = FloatVector.broadcast(S, ap[q + 2 * rStep]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            c22 = x.fma(b2, c22);
            c23 = x.fma(b3, c23);
            x = FloatVector.broadcast(S, ap[q + 3 * rStep]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            c32 = x.fma(b2, c32);
            c33 = x.fma(b3, c33);
        }
        c00.intoArray(c, c0);
        c01.intoArray(c, c0 + L);
        c02.intoArray(c, c0 + 2 * L);
        c03.intoArray(c, c0 + 3 * L);
        c10.intoArray(c, c1);
        c11.intoArray(c, c1 + L);
        c12.intoArray(c, c1 + 2 * L);
        c13.intoArray(c, c1 + 3 * L);
        c20.intoArray(c, c2);
        c21.intoArray(c, c2 + L);
        c22.intoArray(c, c2 + 2 * L);
        c23.intoArray(c, c2 + 3 * L);
        c30.intoArray(c, c3);
        c31.intoArray(c, c3 + L);
        c32.intoArray(c, c3 + 2 * L);
        c33.intoArray(c, c3 + 3 * L);
    }

    private static void tile4x1(float[] a, int ars, int acs, float[] b, float[] c, int i, int j, int p0, int p1, int n) {
        int c0 = i * n + j, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
        FloatVector v0 = FloatVector.fromArray(S, c, c0), v1 = FloatVector.fromArray(S, c, c1);
        FloatVector v2 = FloatVector.fromArray(S, c, c2), v3 = FloatVector.fromArray(S, c, c3);
        int a0 = i * ars, a1 = a0 + ars, a2 = a1 + ars, a3 = a2 + ars;
        for (int p = p0; p < p1; p++) {
            int ap = p * acs;
            FloatVector bv = FloatVector.fromArray(S, b, p * n + j);
            v0 = FloatVector.broadcast(S, a[a0 + ap]).fma(bv, v0);
            v1 = FloatVector.broadcast(S, a[a1 + ap]).fma(bv, v1);
            v2 = FloatVector.broadcast(S, a[a2 + ap]).fma(bv, v2);
            v3 = FloatVector.broadcast(S, a[a3 + ap]).fma(bv, v3);
        }
        v0.intoArray(c, c0);
        v1.intoArray(c, c1);
        v2.intoArray(c, c2);
        v3.intoArray(c, c3);
    }

    private static void tile1x1(float[] a, int ars, int acs, float[] b, float[] c, int i, int j, int p0, int p1, int n) {
        int c0 = i * n + j, a0 = i * ars;
        FloatVector v = FloatVector.fromArray(S, c, c0);
        for (int p = p0; p < p1; p++) {
            v = FloatVector.broadcast(S, a[a0 + p * acs]).fma(FloatVector.fromArray(S, b, p * n + j), v);
        }
        v.intoArray(c, c0);
    }

    /** Columns [j, j1) of row i that do not fill a vector. */
    private static void scalar(float[] a, int ars, int acs, float[] b, float[] c, int i, int j, int j1, int p0, int p1, int n) {
        for (int col = j; col < j1; col++) {
            float sum = c[i * n + col];
            for (int p = p0; p < p1; p++) sum = Math.fma(a[i * ars + p * acs], b[p * n + col], sum);
            c[i * n + col] = sum;
        }
    }
}
