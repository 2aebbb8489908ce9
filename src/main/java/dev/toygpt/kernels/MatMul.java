package dev.toygpt.kernels;

import java.util.Arrays;

/**
 * Matrix products on flat row-major {@code float[]} arrays. The three layouts are the three products a
 * Linear layer needs: forward {@code y = x Wᵀ}, input gradient {@code dx = dy W}, weight gradient
 * {@code dW = dyᵀ x}. Rows of C are shared out between threads; each element is always summed in the same
 * order, so results do not depend on the thread count.
 *
 * <p>With the Vector API available (the {@code toygpt} launcher turns it on) the SIMD kernel in
 * {@link VectorMatMul} runs; otherwise portable loops do the same work more slowly.
 */
public final class MatMul {
    /** True when the JVM was started with the Vector API module (and it was not switched off with -Dtoygpt.simd=false). */
    public static final boolean SIMD = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !"false".equals(System.getProperty("toygpt.simd"));

    private static final int ROW_BLOCK = 4;
    /**
     * Packing one float counts as this many flops when deciding whether to split packing between threads: each
     * thread then copies at least 8K floats (a few microseconds), well above the cost of handing work over.
     */
    private static final long PACK_COST = 4;
    /** Rows of Wᵀ per piece of packing work handed to a thread. */
    private static final int PACK_ROWS = 64;
    /** Per calling thread: room for B transposed and for B packed, reused by every product (no garbage per call). */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[2][0]);

    private MatMul() {}

    /** C(M,N) = A(M,K) · B(K,N), or C += ... when accumulate. */
    public static void matmul(float[] a, float[] b, float[] c, int m, int k, int n, boolean accumulate) {
        gemm(a, k, 1, b, c, m, k, n, accumulate, null, false);
    }

    /** C(M,N) = A(M,K) · B(N,K)ᵀ, or C += ... when accumulate. This is y = x Wᵀ for a PyTorch-layout weight. */
    public static void matmulTransB(float[] a, float[] b, float[] c, int m, int k, int n, boolean accumulate) {
        gemmTransB(a, b, c, m, k, n, accumulate, null, false);
    }

    /**
     * A Linear layer: y(rows, out) = x(rows, in) · Wᵀ + bias, W stored (out, in), bias may be null. The bias is
     * where each row of y starts, so it costs no pass of its own.
     */
    public static void linear(float[] x, float[] w, float[] bias, float[] y, int rows, int in, int out) {
        gemmTransB(x, w, y, rows, in, out, false, bias, false);
    }

    /**
     * relu(x · Wᵀ + bias): {@link #linear} with the ReLU applied by the product to each tile of y as it is finished,
     * while the tile is still in the first-level cache, rather than by a pass of its own. The same floats as
     * {@link #linear} followed by {@link Activations#leakyRelu} with slope 0.
     */
    public static void linearRelu(float[] x, float[] w, float[] bias, float[] y, int rows, int in, int out) {
        gemmTransB(x, w, y, rows, in, out, false, bias, true);
    }

    /** C(M,N) (+)= A(M,K) · B(N,K)ᵀ. With SIMD, B's panels are packed from B directly, never transposed whole. */
    private static void gemmTransB(float[] a, float[] b, float[] c, int m, int k, int n, boolean accumulate, float[] bias, boolean relu) {
        if (SIMD) {
            float[] packed = scratch(1, VectorMatMul.packedSize(k, n));
            // panels split into pieces of PACK_ROWS rows, so that a single panel (seed's contract layer, 256 x 64:
            // 11-15 us) is shared between threads too
            int panels = (n + VectorMatMul.PANEL - 1) / VectorMatMul.PANEL, pieces = (k + PACK_ROWS - 1) / PACK_ROWS;
            Parallel.forRange(panels * pieces, PACK_COST * PACK_ROWS * VectorMatMul.PANEL, (s, e) -> {
                for (int i = s; i < e; i++) {
                    int p0 = i % pieces * PACK_ROWS;
                    VectorMatMul.packPanelOfTransposedB(b, k, n, packed, i / pieces, p0, Math.min(k, p0 + PACK_ROWS));
                }
            });
            gemmPacked(a, k, 1, null, packed, false, c, m, k, n, accumulate, bias, relu);
            return;
        }
        float[] bt = scratch(0, k * n);
        transpose(b, bt, n, k);
        gemm(a, k, 1, bt, c, m, k, n, accumulate, bias, relu);
    }

    /** C(M,N) = A(K,M)ᵀ · B(K,N), or C += ... when accumulate. This is dW = dyᵀ x. */
    public static void matmulTransA(float[] a, float[] b, float[] c, int m, int k, int n, boolean accumulate) {
        gemm(a, 1, m, b, c, m, k, n, accumulate, null, false);
    }

    /**
     * C(M,N) (+)= A·B with A(i,p) = a[i*aRowStride + p*aColStride] and B row-major (K,N). Without accumulate,
     * each row of C starts from bias(N), or from zeros when bias is null.
     */
    static void gemm(float[] a, int aRowStride, int aColStride, float[] b, float[] c, int m, int k, int n, boolean accumulate,
                     float[] bias, boolean relu) {
        float[] packed = null;
        boolean inPlace = SIMD && VectorMatMul.readsBInPlace(aRowStride, aColStride, n);
        if (SIMD && (n == VectorMatMul.PANEL || inPlace)) {
            packed = b; // one panel: B is already laid out so; or the tile reads B's rows where they are
        } else if (SIMD) {
            float[] p = packed = scratch(1, VectorMatMul.packedSize(k, n));
            // in blocks of eight rows, shared between the threads (the weight gradient's B is as long as the batch)
            Parallel.forRange((k + 7) / 8, PACK_COST * 8 * n, (s, e) -> VectorMatMul.packRowsOfB(b, k, n, p, s * 8, Math.min(k, e * 8)));
        }
        gemmPacked(a, aRowStride, aColStride, b, packed, inPlace, c, m, k, n, accumulate, bias, relu);
    }

    /** gemm once B is packed (SIMD: packed holds B's panels, or B itself when bInPlace; portable: b is B, row-major). */
    private static void gemmPacked(float[] a, int aRowStride, int aColStride, float[] b, float[] packed, boolean bInPlace, float[] c,
                                   int m, int k, int n, boolean accumulate, float[] bias, boolean relu) {
        int rowBlock = SIMD ? VectorMatMul.TILE_ROWS : ROW_BLOCK; // whole register tiles per thread
        int blocks = (m + rowBlock - 1) / rowBlock;
        Parallel.forRange(blocks, 2L * rowBlock * k * n, (start, end) -> {
            int r0 = start * rowBlock, r1 = Math.min(m, end * rowBlock);
            if (SIMD && k > 0) {
                VectorMatMul.rows(a, aRowStride, aColStride, packed, bInPlace, c, r0, r1, k, n, accumulate, bias, relu); // sets C itself
                return;
            }
            if (!accumulate && bias == null) Arrays.fill(c, r0 * n, r1 * n, 0f);
            if (!accumulate && bias != null) {
                for (int i = r0; i < r1; i++) System.arraycopy(bias, 0, c, i * n, n);
            }
            if (!SIMD) portableRows(a, aRowStride, aColStride, b, c, r0, r1, k, n);
            if (relu) {
                for (int i = r0 * n; i < r1 * n; i++) c[i] = c[i] > 0f ? c[i] : c[i] * 0f; // Vec.leakyRelu's formula
            }
        });
    }

    private static float[] scratch(int which, int size) {
        float[][] s = SCRATCH.get();
        if (s[which].length < size) s[which] = new float[size];
        return s[which];
    }

    /** The same product without SIMD: row of C += A(i,p) * row p of B, skipping zeros (one-hot inputs, ReLU). */
    static void portableRows(float[] a, int aRowStride, int aColStride, float[] b, float[] c, int r0, int r1, int k, int n) {
        for (int i = r0; i < r1; i++) {
            int cRow = i * n;
            for (int p = 0; p < k; p++) {
                float aip = a[i * aRowStride + p * aColStride];
                if (aip == 0f) continue;
                int bRow = p * n;
                for (int j = 0; j < n; j++) c[cRow + j] += aip * b[bRow + j];
            }
        }
    }

    /**
     * out(N) = x(K) · wt(K,N) + bias (bias may be null): one position through a Linear layer whose weight
     * was transposed once to (in, out), as generation does for every new token.
     */
    public static void vecMat(float[] x, float[] wt, float[] bias, float[] out, int k, int n) {
        if (SIMD) {
            VectorMatMul.vecMat(x, wt, bias, out, k, n);
            return;
        }
        if (bias == null) Arrays.fill(out, 0, n, 0f);
        else System.arraycopy(bias, 0, out, 0, n);
        for (int p = 0; p < k; p++) {
            float xp = x[p];
            if (xp == 0f) continue;
            int row = p * n;
            for (int j = 0; j < n; j++) out[j] += xp * wt[row + j];
        }
    }

    /** dst(cols, rows) = src(rows, cols)ᵀ, in 32 x 32 tiles so reads and writes both stay in the cache. */
    public static void transpose(float[] src, float[] dst, int rows, int cols) {
        final int tile = 32;
        for (int i0 = 0; i0 < rows; i0 += tile) {
            int i1 = Math.min(rows, i0 + tile);
            for (int j0 = 0; j0 < cols; j0 += tile) {
                int j1 = Math.min(cols, j0 + tile);
                for (int i = i0; i < i1; i++) {
                    int row = i * cols;
                    for (int j = j0; j < j1; j++) dst[j * rows + i] = src[row + j];
                }
            }
        }
    }
}
