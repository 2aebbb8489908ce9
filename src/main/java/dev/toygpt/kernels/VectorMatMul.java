package dev.toygpt.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The matrix product with SIMD registers (the JDK's Vector API), used when the JVM runs with
 * {@code --add-modules jdk.incubator.vector}. C(M,N) += A·B where A(i,p) = a[i*aRowStride + p*aColStride]
 * and B comes packed by {@link #packB} or {@link #packTransposedB}; the stride lets the same loops read A or Aᵀ.
 *
 * <p>The core is a register tile of TILE_ROWS rows x PANEL columns of C held in registers while p runs over a
 * block of K: each step loads one row of B's panel and broadcasts one value of A per row. Both operands are
 * packed first so that the tile reads two contiguous streams:
 * <ul>
 *   <li>B into panels of PANEL columns, p-major (row p of a panel is PANEL consecutive floats);</li>
 *   <li>A, per block of rows and of K, into micro-panels of TILE_ROWS rows, p-major (TILE_ROWS floats per p),
 *       each its own array: the tile then indexes A as p * TILE_ROWS + r from 0, a form in which the JIT can
 *       prove the reads in bounds; reading A in place with run-time strides cost a range check per broadcast
 *       and about a quarter of the speed.</li>
 * </ul>
 * Except on AVX-512, where a row-major A (the forward's x, the input gradient's dy) is read in place, row by
 * row: A(i, p) = a[i*K + p] is a step of 1 in p, which the JIT checks once per loop rather than per read,
 * and its 32 registers hold the tile's four row offsets with room to spare. Packing A cost 10-25% of those
 * products there. Aᵀ (the weight gradient's dyᵀ) is packed there 16 rows at a time, when N is whole panels.
 * With AVX2's 16 registers the in-place tile ran at half speed, so A is packed there.
 * The loops follow the classic blocked order: a block of A (M_BLOCK x K_BLOCK) stays in the L2 cache, one
 * panel's slice of B (K_BLOCK x PANEL, 16 KB on AVX2) stays in L1 while the tile sweeps down the block's rows.
 * Rows and columns that do not fill a tile run the same tile on zero-padded copies, so every element of C is
 * the same sequence of fused multiply-adds (p ascending) wherever it falls: results do not depend on the
 * thread count or on where a thread's rows start.
 */
final class VectorMatMul {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /**
     * Steps of p per block: a panel's slice of B (K_BLOCK x PANEL floats) must fit in the L1 cache. Swept
     * 128/256/512 x 8/16/32 tiles per M_BLOCK on the seed, baby and lecture shapes (AVX2, JDK 17): all within
     * the shared machine's noise (about 5%), so 256 stays. -Dtoygpt.kBlock and -Dtoygpt.mTiles override, for measuring.
     */
    private static final int K_BLOCK = Integer.getInteger("toygpt.kBlock", 256);

    /**
     * Vectors per row of the register tile: four where there are 32 vector registers (AVX-512), two where
     * there are 16 (AVX2).
     */
    private static final int TILE_VECTORS = L >= 16 ? 4 : 2;
    /** Width of a packed panel of B: the width of the register tile. */
    static final int PANEL = TILE_VECTORS * L;
    /**
     * Rows of the register tile. AVX2: six rows (12 accumulators, 2 of B, 1 broadcast: 15 of 16 registers)
     * run at about 95% of the FMA units' peak on JDK 17, but JDK 18+'s C2 keeps one more broadcast live and
     * spills an accumulator, which halves the speed; there four rows (8 accumulators, just enough to cover
     * the FMA latency) do better. -Dtoygpt.tileRows=4|6 overrides, for measuring.
     */
    static final int TILE_ROWS = tileRows();
    /** Rows of A packed at a time: TILE_ROWS x K_BLOCK floats per tile, about 100 KB in all, kept in L2. */
    private static final int M_BLOCK = TILE_ROWS * Integer.getInteger("toygpt.mTiles", TILE_ROWS == 6 ? 16 : 24);
    /**
     * Rows per block where A is packed on AVX-512, which there means Aᵀ, the weight gradient's: twice as many,
     * so that each slice of B brought into L1 serves twice the tiles (its B is the layer's input, read in place
     * at a stride of N). The lecture's four weight gradients went from 70-80 to 79-87 GFLOP/s on one thread
     * (24 vs 48 tiles; 12 gave 65-69, 96 no more than 48), while the in-place products lost 0-5% at 48.
     * Where a thread's rows stop does not change a sum, so results stay the same.
     */
    private static final int PACKED_M_BLOCK = TILE_VECTORS == 4 ? 2 * M_BLOCK : M_BLOCK;

    /** Row-major A read in place by the tile rather than packed (see the class comment): AVX-512 only. */
    private static final boolean IN_PLACE = TILE_VECTORS == 4;

    /** Per thread: A's micro-panels for one block, and a tile-sized C for the ragged edges. */
    private static final ThreadLocal<float[][]> PACKED_A =
            ThreadLocal.withInitial(() -> new float[PACKED_M_BLOCK / TILE_ROWS][TILE_ROWS * K_BLOCK + L]); // + L: packA's vector copies run past the end
    /** Where a product without bias starts: a tile row of zeros. */
    private static final float[] ZEROS = new float[PANEL];
    private static final ThreadLocal<float[]> EDGE = ThreadLocal.withInitial(() -> new float[TILE_ROWS * PANEL]);

    private VectorMatMul() {}

    private static int tileRows() {
        if (TILE_VECTORS == 4) return 4;
        String forced = System.getProperty("toygpt.tileRows");
        if ("4".equals(forced) || "6".equals(forced)) return Integer.parseInt(forced);
        return Runtime.version().feature() <= 17 ? 6 : 4;
    }

    /**
     * Whether {@link #rows} reads B(K,N) where it is, row p of a panel at p*N, instead of packed: for the weight
     * gradient's B (the layer's input x, as long as the batch) on AVX-512, where N is whole panels. Packing it
     * wrote and read again up to 1.5 MB per product (baby's 768 x 512), more than the L2 cache; read in place
     * the range check per load that a run-time stride costs is hidden behind the 16 multiply-adds per step
     * (seed's dW with N = 256: 65-81 -> 91-97 GFLOP/s; baby's step 2-11% less processor time in 6 pairs).
     * Only the packed-A tile for Aᵀ takes B's stride.
     */
    static boolean readsBInPlace(int aRowStride, int aColStride, int n) {
        return TILE_VECTORS == 4 && aRowStride == 1 && aColStride != 1 && n % PANEL == 0;
    }

    /** Floats that {@link #packB} and {@link #packTransposedB} write: whole panels, the last one zero-padded. */
    static int packedSize(int k, int n) {
        return (n + PANEL - 1) / PANEL * k * PANEL;
    }

    /**
     * Copies B(K,N) into panels of PANEL columns, each stored row after row ((N/PANEL) x K x PANEL), so the
     * tile reads B as one contiguous stream; the last panel is padded with zero columns. Returns packed,
     * which must hold {@link #packedSize} floats.
     */
    static float[] packB(float[] b, int k, int n, float[] packed) {
        if (n == PANEL) return b; // one panel: B is already laid out so
        packRowsOfB(b, k, n, packed, 0, k);
        return packed;
    }

    /** Rows [r0, r1) of B into their panels, as {@link #packB} does; threads may pack separate ranges at once. */
    static void packRowsOfB(float[] b, int k, int n, float[] packed, int r0, int r1) {
        int full = n / PANEL, rest = n - full * PANEL;
        // eight rows of B at a time, panel after panel: each panel's eight rows are one run of writes, while the
        // eight rows read stay in L1 (measured 1.1-2.4x faster than a row at a time across all panels)
        for (int p0 = r0; p0 < r1; p0 += 8) {
            int p1 = Math.min(r1, p0 + 8);
            for (int q = 0; q < full; q++) {
                for (int p = p0, src = p0 * n + q * PANEL, dst = (q * k + p0) * PANEL; p < p1; p++, src += n, dst += PANEL) {
                    for (int v = 0; v < PANEL; v += L) FloatVector.fromArray(S, b, src + v).intoArray(packed, dst + v);
                }
            }
            if (rest > 0) {
                for (int p = p0; p < p1; p++) {
                    int dst = (full * k + p) * PANEL;
                    System.arraycopy(b, p * n + full * PANEL, packed, dst, rest);
                    java.util.Arrays.fill(packed, dst + rest, dst + PANEL, 0f);
                }
            }
        }
    }

    /**
     * The panels of B = Wᵀ packed straight from W(N,K), a PyTorch weight, without transposing it first.
     */
    static float[] packTransposedB(float[] w, int k, int n, float[] packed) {
        packPanelsOfTransposedB(w, k, n, packed, 0, (n + PANEL - 1) / PANEL);
        return packed;
    }

    /** Panels [q0, q1) of {@link #packTransposedB}; threads may pack separate ranges at once. */
    static void packPanelsOfTransposedB(float[] w, int k, int n, float[] packed, int q0, int q1) {
        for (int q = q0; q < q1; q++) packPanelOfTransposedB(w, k, n, packed, q, 0, k);
    }

    /**
     * Rows [p0, p1) of panel q of {@link #packTransposedB}: threads may pack separate panels, or separate rows of
     * one panel, at once (a narrow layer's Wᵀ is a single panel, as long as the layer is wide).
     */
    static void packPanelOfTransposedB(float[] w, int k, int n, float[] packed, int q, int p0, int p1) {
        int panel = q * k * PANEL, cols = Math.min(PANEL, n - q * PANEL);
        // a row of W at a time, read in order (1.5x faster than 16 x 16 blocks: a single stream read)
        for (int jj = 0; jj < cols; jj++) {
            for (int p = p0, src = (q * PANEL + jj) * k, dst = panel + p0 * PANEL + jj; p < p1; p++, dst += PANEL) packed[dst] = w[src + p];
        }
        for (int jj = cols; jj < PANEL; jj++) {
            for (int p = p0; p < p1; p++) packed[panel + p * PANEL + jj] = 0f;
        }
    }

    /**
     * Rows [r0, r1) of C(M,N) = start + A·B, B packed (or B itself when bInPlace, see {@link #readsBInPlace}),
     * where start is C itself when accumulate, else each row is bias(N), or zeros when bias is null. With relu,
     * each tile of C gets max(c, 0 c) (Vec.leakyRelu's formula at slope 0) once its last block of K is added,
     * while it is still in the first-level cache.
     */
    static void rows(float[] a, int aRowStride, int aColStride, float[] packedB, boolean bInPlace, float[] c, int r0, int r1, int k, int n,
                     boolean accumulate, float[] bias, boolean relu) {
        float[][] panelsOfA = PACKED_A.get();
        int panelsOfB = (n + PANEL - 1) / PANEL;
        boolean inPlace = aColStride == 1 && IN_PLACE; // whole tiles of row-major A read where they are
        // Aᵀ (the weight gradient's dyᵀ) packed 16 rows at a time where every tile is whole in width (see pack16)
        boolean by16 = IN_PLACE && !inPlace && aRowStride == 1 && n % PANEL == 0;
        float[][] groups = by16 ? PACKED_16.get() : null;
        int mBlock = inPlace ? M_BLOCK : PACKED_M_BLOCK;
        for (int i0 = r0; i0 < r1; i0 += mBlock) {
            int i1 = Math.min(r1, i0 + mBlock);
            for (int p0 = 0; p0 < k; p0 += K_BLOCK) {
                int kc = Math.min(k, p0 + K_BLOCK) - p0;
                boolean reluNow = relu && p0 + kc == k;
                packA(a, aRowStride, aColStride, i0, i1, p0, kc, panelsOfA, inPlace || by16);
                if (by16) pack16(a, aColStride, i0, i1, p0, kc, groups);
                // the first block of K starts from the bias or zeros rather than from C
                float[] start = accumulate || p0 > 0 ? null : bias != null ? bias : ZEROS;
                for (int q = 0; q < panelsOfB; q++) {
                    int j = q * PANEL, bBase = bInPlace ? p0 * n + j : (q * k + p0) * PANEL, bs = bInPlace ? n : PANEL;
                    int s0 = start == bias ? j : 0;
                    boolean fullWidth = j + PANEL <= n;
                    for (int i = i0, t = 0; i < i1; i += TILE_ROWS, t++) {
                        boolean fullTile = i + TILE_ROWS <= i1, here = fullTile && inPlace;
                        float[] at = here ? a : panelsOfA[t];
                        int a0 = here ? i * aRowStride + p0 : 0, as = here ? aRowStride : 0;
                        if (fullWidth && fullTile) {
                            if (by16) {
                                float[] group = groups[(i - i0) / 16];
                                int row = (i - i0) % 16;
                                if (start == null) tile4x4Of16(group, row, packedB, bBase, bs, kc, c, i * n + j, n, c, i * n + j, n);
                                else tile4x4Of16(group, row, packedB, bBase, bs, kc, c, i * n + j, n, start, s0, 0);
                            } else if (start == null) {
                                tile(at, a0, as, packedB, bBase, bs, kc, c, i * n + j, n, c, i * n + j, n);
                            } else {
                                tile(at, a0, as, packedB, bBase, bs, kc, c, i * n + j, n, start, s0, 0);
                            }
                            if (reluNow) reluTile(c, i * n + j, n);
                        } else {
                            edgeTile(at, a0, as, packedB, bBase, bs, kc, c, i, Math.min(TILE_ROWS, i1 - i), j, Math.min(PANEL, n - j), n, start, s0);
                            if (reluNow) reluEdge(c, i, Math.min(TILE_ROWS, i1 - i), j, Math.min(PANEL, n - j), n);
                        }
                    }
                }
            }
        }
    }

    /** ReLU of a whole tile of C from c0 (rows n apart), by Vec.leakyRelu's formula at slope 0. */
    private static void reluTile(float[] c, int c0, int n) {
        for (int r = 0, row = c0; r < TILE_ROWS; r++, row += n) {
            for (int v = 0; v < PANEL; v += L) {
                FloatVector x = FloatVector.fromArray(S, c, row + v);
                x.blend(x.mul(0f), x.compare(VectorOperators.LE, 0f)).intoArray(c, row + v);
            }
        }
    }

    /** ReLU of the rows x cols of C at (i, j) that an edge tile covers. */
    private static void reluEdge(float[] c, int i, int rows, int j, int cols, int n) {
        for (int r = 0; r < rows; r++) {
            for (int q = (i + r) * n + j, end = q + cols; q < end; q++) c[q] = c[q] > 0f ? c[q] : c[q] * 0f;
        }
    }

    /**
     * A(i0..i1, p0..p0+kc) into micro-panels of TILE_ROWS rows: panel t holds A(i0 + t*TILE_ROWS + r, p0 + p)
     * at p * TILE_ROWS + r; rows past i1 are zeros. Packing costs about as much as the product itself where
     * N is small (dW of a narrow layer uses each value of A for 2N flops), so the inner loop runs over the
     * constant TILE_ROWS, which the JIT unrolls into straight copies. With onlyRagged (A read in place), only
     * a last tile of fewer than TILE_ROWS rows is packed.
     */
    private static void packA(float[] a, int ars, int acs, int i0, int i1, int p0, int kc, float[][] panels, boolean onlyRagged) {
        for (int i = i0, t = 0; i < i1; i += TILE_ROWS, t++) {
            float[] panel = panels[t];
            int rows = Math.min(TILE_ROWS, i1 - i), src = i * ars + p0 * acs;
            if (onlyRagged && rows == TILE_ROWS) continue;
            if (rows == TILE_ROWS && ars == 1 && L >= TILE_ROWS) {
                // Aᵀ (weight gradient): a tile's TILE_ROWS values for one p lie side by side; one vector copies
                // them, its lanes past TILE_ROWS spill into the next p's slot, which the next copy overwrites
                int p = 0;
                for (int q = src; p < kc && q + L <= a.length; p++, q += acs) {
                    FloatVector.fromArray(S, a, q).intoArray(panel, p * TILE_ROWS);
                }
                for (int q = src + p * acs; p < kc; p++, q += acs) {
                    for (int r = 0; r < TILE_ROWS; r++) panel[p * TILE_ROWS + r] = a[q + r];
                }
            } else if (rows == TILE_ROWS) {
                for (int p = 0; p < kc; p++) {
                    int o = p * TILE_ROWS, q = src + p * acs;
                    for (int r = 0; r < TILE_ROWS; r++) panel[o + r] = a[q + r * ars];
                }
            } else {
                java.util.Arrays.fill(panel, 0, kc * TILE_ROWS, 0f);
                for (int p = 0; p < kc; p++) {
                    for (int r = 0; r < rows; r++) panel[p * TILE_ROWS + r] = a[src + p * acs + r * ars];
                }
            }
        }
    }

    /**
     * C(c0 + r*n + j) = start(s0 + r*ss + j) + sum over the kc steps of p of A(r, p) B(p, j), for the tile's
     * rows r and columns j. A is read in place, A(r, p) = a[a0 + r*as + p], when as > 0; else a is a packed
     * micro-panel, A(r, p) = a[p * TILE_ROWS + r]. B(p, j) = b[bBase + p*bs + j] (bs is PANEL but for B read in
     * place, which only the packed-A tile of AVX-512 meets). Two sets of tiles rather than one with a stride for p: a
     * stride known only at run time leaves a range check on every broadcast (10% slower, measured).
     * start is C itself (s = c, s0 = c0, ss = n) or, in a product's first block of K, the bias (ss = 0) or
     * zeros, so that C needs no pass of its own to be set first. The sums are the same either way (0 + x is x).
     */
    private static void tile(float[] a, int a0, int as, float[] b, int bBase, int bs, int kc, float[] c, int c0, int n, float[] s, int s0, int ss) {
        if (as > 0) tile4x4InPlace(a, a0, as, b, bBase, kc, c, c0, n, s, s0, ss);
        else if (TILE_VECTORS == 4) tile4x4(a, b, bBase, bs, kc, c, c0, n, s, s0, ss);
        else if (TILE_ROWS == 6) tile6x2(a, b, bBase, kc, c, c0, n, s, s0, ss);
        else tile4x2(a, b, bBase, kc, c, c0, n, s, s0, ss);
    }

    /**
     * A tile that C's last rows or columns do not fill: the same tile on a zero-padded copy of that part of C
     * (or of its start, start = null meaning C itself).
     */
    private static void edgeTile(float[] a, int a0, int as, float[] b, int bBase, int bs, int kc, float[] c, int i, int rows, int j, int cols, int n,
                                 float[] start, int s0) {
        float[] edge = EDGE.get();
        java.util.Arrays.fill(edge, 0f);
        for (int r = 0; r < rows; r++) {
            if (start == null) System.arraycopy(c, (i + r) * n + j, edge, r * PANEL, cols);
            else System.arraycopy(start, s0, edge, r * PANEL, cols);
        }
        tile(a, a0, as, b, bBase, bs, kc, edge, 0, PANEL, edge, 0, PANEL);
        for (int r = 0; r < rows; r++) System.arraycopy(edge, r * PANEL, c, (i + r) * n + j, cols);
    }

    /** AVX2 on JDK 17: 6 rows x 2 vectors, 12 accumulators + 2 of B + a broadcast = 15 of the 16 registers. */
    private static void tile6x2(float[] a, float[] b, int bBase, int kc, float[] c, int c0, int n, float[] s, int s0, int ss) {
        FloatVector c00 = FloatVector.fromArray(S, s, s0), c01 = FloatVector.fromArray(S, s, s0 + L);
        FloatVector c10 = FloatVector.fromArray(S, s, s0 + ss), c11 = FloatVector.fromArray(S, s, s0 + ss + L);
        FloatVector c20 = FloatVector.fromArray(S, s, s0 + 2 * ss), c21 = FloatVector.fromArray(S, s, s0 + 2 * ss + L);
        FloatVector c30 = FloatVector.fromArray(S, s, s0 + 3 * ss), c31 = FloatVector.fromArray(S, s, s0 + 3 * ss + L);
        FloatVector c40 = FloatVector.fromArray(S, s, s0 + 4 * ss), c41 = FloatVector.fromArray(S, s, s0 + 4 * ss + L);
        FloatVector c50 = FloatVector.fromArray(S, s, s0 + 5 * ss), c51 = FloatVector.fromArray(S, s, s0 + 5 * ss + L);
        for (int p = 0; p < kc; p++) {
            int ai = p * 6, bi = bBase + p * PANEL;
            FloatVector b0 = FloatVector.fromArray(S, b, bi), b1 = FloatVector.fromArray(S, b, bi + L);
            FloatVector x0 = FloatVector.broadcast(S, a[ai]);
            c00 = x0.fma(b0, c00); c01 = x0.fma(b1, c01);
            FloatVector x1 = FloatVector.broadcast(S, a[ai + 1]);
            c10 = x1.fma(b0, c10); c11 = x1.fma(b1, c11);
            FloatVector x2 = FloatVector.broadcast(S, a[ai + 2]);
            c20 = x2.fma(b0, c20); c21 = x2.fma(b1, c21);
            FloatVector x3 = FloatVector.broadcast(S, a[ai + 3]);
            c30 = x3.fma(b0, c30); c31 = x3.fma(b1, c31);
            FloatVector x4 = FloatVector.broadcast(S, a[ai + 4]);
            c40 = x4.fma(b0, c40); c41 = x4.fma(b1, c41);
            FloatVector x5 = FloatVector.broadcast(S, a[ai + 5]);
            c50 = x5.fma(b0, c50); c51 = x5.fma(b1, c51);
        }
        c00.intoArray(c, c0); c01.intoArray(c, c0 + L);
        c10.intoArray(c, c0 + n); c11.intoArray(c, c0 + n + L);
        c20.intoArray(c, c0 + 2 * n); c21.intoArray(c, c0 + 2 * n + L);
        c30.intoArray(c, c0 + 3 * n); c31.intoArray(c, c0 + 3 * n + L);
        c40.intoArray(c, c0 + 4 * n); c41.intoArray(c, c0 + 4 * n + L);
        c50.intoArray(c, c0 + 5 * n); c51.intoArray(c, c0 + 5 * n + L);
    }

    /** AVX2 on later JDKs: 4 rows x 2 vectors (their register allocator spills one accumulator of the 6-row tile). */
    private static void tile4x2(float[] a, float[] b, int bBase, int kc, float[] c, int c0, int n, float[] s, int s0, int ss) {
        FloatVector c00 = FloatVector.fromArray(S, s, s0), c01 = FloatVector.fromArray(S, s, s0 + L);
        FloatVector c10 = FloatVector.fromArray(S, s, s0 + ss), c11 = FloatVector.fromArray(S, s, s0 + ss + L);
        FloatVector c20 = FloatVector.fromArray(S, s, s0 + 2 * ss), c21 = FloatVector.fromArray(S, s, s0 + 2 * ss + L);
        FloatVector c30 = FloatVector.fromArray(S, s, s0 + 3 * ss), c31 = FloatVector.fromArray(S, s, s0 + 3 * ss + L);
        for (int p = 0; p < kc; p++) {
            int ai = p * 4, bi = bBase + p * PANEL;
            FloatVector b0 = FloatVector.fromArray(S, b, bi), b1 = FloatVector.fromArray(S, b, bi + L);
            FloatVector x0 = FloatVector.broadcast(S, a[ai]);
            c00 = x0.fma(b0, c00); c01 = x0.fma(b1, c01);
            FloatVector x1 = FloatVector.broadcast(S, a[ai + 1]);
            c10 = x1.fma(b0, c10); c11 = x1.fma(b1, c11);
            FloatVector x2 = FloatVector.broadcast(S, a[ai + 2]);
            c20 = x2.fma(b0, c20); c21 = x2.fma(b1, c21);
            FloatVector x3 = FloatVector.broadcast(S, a[ai + 3]);
            c30 = x3.fma(b0, c30); c31 = x3.fma(b1, c31);
        }
        c00.intoArray(c, c0); c01.intoArray(c, c0 + L);
        c10.intoArray(c, c0 + n); c11.intoArray(c, c0 + n + L);
        c20.intoArray(c, c0 + 2 * n); c21.intoArray(c, c0 + 2 * n + L);
        c30.intoArray(c, c0 + 3 * n); c31.intoArray(c, c0 + 3 * n + L);
    }

    /** AVX-512: 4 rows x 4 vectors, 16 accumulators of the 32 registers. */
    private static void tile4x4(float[] a, float[] b, int bBase, int bs, int kc, float[] c, int c0, int n, float[] s, int s0, int ss) {
        FloatVector c00 = FloatVector.fromArray(S, s, s0), c01 = FloatVector.fromArray(S, s, s0 + L), c02 = FloatVector.fromArray(S, s, s0 + 2 * L), c03 = FloatVector.fromArray(S, s, s0 + 3 * L);
        FloatVector c10 = FloatVector.fromArray(S, s, s0 + ss), c11 = FloatVector.fromArray(S, s, s0 + ss + L), c12 = FloatVector.fromArray(S, s, s0 + ss + 2 * L), c13 = FloatVector.fromArray(S, s, s0 + ss + 3 * L);
        FloatVector c20 = FloatVector.fromArray(S, s, s0 + 2 * ss), c21 = FloatVector.fromArray(S, s, s0 + 2 * ss + L), c22 = FloatVector.fromArray(S, s, s0 + 2 * ss + 2 * L), c23 = FloatVector.fromArray(S, s, s0 + 2 * ss + 3 * L);
        FloatVector c30 = FloatVector.fromArray(S, s, s0 + 3 * ss), c31 = FloatVector.fromArray(S, s, s0 + 3 * ss + L), c32 = FloatVector.fromArray(S, s, s0 + 3 * ss + 2 * L), c33 = FloatVector.fromArray(S, s, s0 + 3 * ss + 3 * L);
        for (int p = 0; p < kc; p++) {
            int ai = p * 4, bi = bBase + p * bs;
            FloatVector b0 = FloatVector.fromArray(S, b, bi), b1 = FloatVector.fromArray(S, b, bi + L), b2 = FloatVector.fromArray(S, b, bi + 2 * L), b3 = FloatVector.fromArray(S, b, bi + 3 * L);
            FloatVector x0 = FloatVector.broadcast(S, a[ai]);
            c00 = x0.fma(b0, c00); c01 = x0.fma(b1, c01); c02 = x0.fma(b2, c02); c03 = x0.fma(b3, c03);
            FloatVector x1 = FloatVector.broadcast(S, a[ai + 1]);
            c10 = x1.fma(b0, c10); c11 = x1.fma(b1, c11); c12 = x1.fma(b2, c12); c13 = x1.fma(b3, c13);
            FloatVector x2 = FloatVector.broadcast(S, a[ai + 2]);
            c20 = x2.fma(b0, c20); c21 = x2.fma(b1, c21); c22 = x2.fma(b2, c22); c23 = x2.fma(b3, c23);
            FloatVector x3 = FloatVector.broadcast(S, a[ai + 3]);
            c30 = x3.fma(b0, c30); c31 = x3.fma(b1, c31); c32 = x3.fma(b2, c32); c33 = x3.fma(b3, c33);
        }
        c00.intoArray(c, c0); c01.intoArray(c, c0 + L); c02.intoArray(c, c0 + 2 * L); c03.intoArray(c, c0 + 3 * L);
        c10.intoArray(c, c0 + n); c11.intoArray(c, c0 + n + L); c12.intoArray(c, c0 + n + 2 * L); c13.intoArray(c, c0 + n + 3 * L);
        c20.intoArray(c, c0 + 2 * n); c21.intoArray(c, c0 + 2 * n + L); c22.intoArray(c, c0 + 2 * n + 2 * L); c23.intoArray(c, c0 + 2 * n + 3 * L);
        c30.intoArray(c, c0 + 3 * n); c31.intoArray(c, c0 + 3 * n + L); c32.intoArray(c, c0 + 3 * n + 2 * L); c33.intoArray(c, c0 + 3 * n + 3 * L);
    }


    /** Per thread (AVX-512): Aᵀ's rows of one block in groups of 16, see {@link #pack16}. */
    private static final ThreadLocal<float[][]> PACKED_16 = ThreadLocal.withInitial(() -> new float[(PACKED_M_BLOCK + 15) / 16][16 * K_BLOCK]);

    /**
     * Aᵀ(i0..i1, p0..p0+kc) (A(i, p) = a[i + p*acs], the weight gradient's dyᵀ) in groups of 16 rows, four
     * tiles: group g holds A(i0 + 16 g + r, p0 + p) at p * 16 + r. Where 16 rows are there, one AVX-512 vector
     * copy per p, reading each line of dy once; packing tile by tile read each line four times, and reading
     * dyᵀ in place left a range check per broadcast and, for dy rows 2 KB apart (fc's 512 outputs), lines that
     * crowd into two sets of the L1 cache (baby's dW, one thread: packed by tile 89-100 GFLOP/s, in place
     * 94-103, by 16 103-110). The last group may be partial: only its valid rows are copied.
     */
    private static void pack16(float[] a, int acs, int i0, int i1, int p0, int kc, float[][] groups) {
        for (int i = i0, g = 0; i < i1; i += 16, g++) {
            float[] group = groups[g];
            int rows = Math.min(16, i1 - i);
            if (rows == 16 && L == 16) {
                for (int p = 0, q = i + p0 * acs; p < kc; p++, q += acs) FloatVector.fromArray(S, a, q).intoArray(group, p * 16);
            } else {
                for (int p = 0, q = i + p0 * acs; p < kc; p++, q += acs) {
                    for (int r = 0; r < rows; r++) group[p * 16 + r] = a[q + r];
                }
            }
        }
    }

    /** {@link #tile4x4} on a group of {@link #pack16}: A(r, p) = a[p * 16 + a0 + r], a stride the JIT can prove in bounds. */
    private static void tile4x4Of16(float[] a, int a0, float[] b, int bBase, int bs, int kc, float[] c, int c0, int n, float[] s, int s0, int ss) {
        FloatVector c00 = FloatVector.fromArray(S, s, s0), c01 = FloatVector.fromArray(S, s, s0 + L), c02 = FloatVector.fromArray(S, s, s0 + 2 * L), c03 = FloatVector.fromArray(S, s, s0 + 3 * L);
        FloatVector c10 = FloatVector.fromArray(S, s, s0 + ss), c11 = FloatVector.fromArray(S, s, s0 + ss + L), c12 = FloatVector.fromArray(S, s, s0 + ss + 2 * L), c13 = FloatVector.fromArray(S, s, s0 + ss + 3 * L);
        FloatVector c20 = FloatVector.fromArray(S, s, s0 + 2 * ss), c21 = FloatVector.fromArray(S, s, s0 + 2 * ss + L), c22 = FloatVector.fromArray(S, s, s0 + 2 * ss + 2 * L), c23 = FloatVector.fromArray(S, s, s0 + 2 * ss + 3 * L);
        FloatVector c30 = FloatVector.fromArray(S, s, s0 + 3 * ss), c31 = FloatVector.fromArray(S, s, s0 + 3 * ss + L), c32 = FloatVector.fromArray(S, s, s0 + 3 * ss + 2 * L), c33 = FloatVector.fromArray(S, s, s0 + 3 * ss + 3 * L);
        for (int p = 0; p < kc; p++) {
            int ai = p * 16 + a0, bi = bBase + p * bs;
            FloatVector b0 = FloatVector.fromArray(S, b, bi), b1 = FloatVector.fromArray(S, b, bi + L), b2 = FloatVector.fromArray(S, b, bi + 2 * L), b3 = FloatVector.fromArray(S, b, bi + 3 * L);
            FloatVector x0 = FloatVector.broadcast(S, a[ai]);
            c00 = x0.fma(b0, c00); c01 = x0.fma(b1, c01); c02 = x0.fma(b2, c02); c03 = x0.fma(b3, c03);
            FloatVector x1 = FloatVector.broadcast(S, a[ai + 1]);
            c10 = x1.fma(b0, c10); c11 = x1.fma(b1, c11); c12 = x1.fma(b2, c12); c13 = x1.fma(b3, c13);
            FloatVector x2 = FloatVector.broadcast(S, a[ai + 2]);
            c20 = x2.fma(b0, c20); c21 = x2.fma(b1, c21); c22 = x2.fma(b2, c22); c23 = x2.fma(b3, c23);
            FloatVector x3 = FloatVector.broadcast(S, a[ai + 3]);
            c30 = x3.fma(b0, c30); c31 = x3.fma(b1, c31); c32 = x3.fma(b2, c32); c33 = x3.fma(b3, c33);
        }
        c00.intoArray(c, c0); c01.intoArray(c, c0 + L); c02.intoArray(c, c0 + 2 * L); c03.intoArray(c, c0 + 3 * L);
        c10.intoArray(c, c0 + n); c11.intoArray(c, c0 + n + L); c12.intoArray(c, c0 + n + 2 * L); c13.intoArray(c, c0 + n + 3 * L);
        c20.intoArray(c, c0 + 2 * n); c21.intoArray(c, c0 + 2 * n + L); c22.intoArray(c, c0 + 2 * n + 2 * L); c23.intoArray(c, c0 + 2 * n + 3 * L);
        c30.intoArray(c, c0 + 3 * n); c31.intoArray(c, c0 + 3 * n + L); c32.intoArray(c, c0 + 3 * n + 2 * L); c33.intoArray(c, c0 + 3 * n + 3 * L);
    }

    /** {@link #tile4x4} reading A in place. */
    private static void tile4x4InPlace(float[] a, int a0, int as, float[] b, int bBase, int kc, float[] c, int c0, int n, float[] s, int s0, int ss) {
        FloatVector c00 = FloatVector.fromArray(S, s, s0), c01 = FloatVector.fromArray(S, s, s0 + L), c02 = FloatVector.fromArray(S, s, s0 + 2 * L), c03 = FloatVector.fromArray(S, s, s0 + 3 * L);
        FloatVector c10 = FloatVector.fromArray(S, s, s0 + ss), c11 = FloatVector.fromArray(S, s, s0 + ss + L), c12 = FloatVector.fromArray(S, s, s0 + ss + 2 * L), c13 = FloatVector.fromArray(S, s, s0 + ss + 3 * L);
        FloatVector c20 = FloatVector.fromArray(S, s, s0 + 2 * ss), c21 = FloatVector.fromArray(S, s, s0 + 2 * ss + L), c22 = FloatVector.fromArray(S, s, s0 + 2 * ss + 2 * L), c23 = FloatVector.fromArray(S, s, s0 + 2 * ss + 3 * L);
        FloatVector c30 = FloatVector.fromArray(S, s, s0 + 3 * ss), c31 = FloatVector.fromArray(S, s, s0 + 3 * ss + L), c32 = FloatVector.fromArray(S, s, s0 + 3 * ss + 2 * L), c33 = FloatVector.fromArray(S, s, s0 + 3 * ss + 3 * L);
        int r0 = a0, r1 = r0 + as, r2 = r1 + as, r3 = r2 + as;
        for (int p = 0; p < kc; p++) {
            int bi = bBase + p * PANEL;
            FloatVector b0 = FloatVector.fromArray(S, b, bi), b1 = FloatVector.fromArray(S, b, bi + L), b2 = FloatVector.fromArray(S, b, bi + 2 * L), b3 = FloatVector.fromArray(S, b, bi + 3 * L);
            FloatVector x0 = FloatVector.broadcast(S, a[r0 + p]);
            c00 = x0.fma(b0, c00); c01 = x0.fma(b1, c01); c02 = x0.fma(b2, c02); c03 = x0.fma(b3, c03);
            FloatVector x1 = FloatVector.broadcast(S, a[r1 + p]);
            c10 = x1.fma(b0, c10); c11 = x1.fma(b1, c11); c12 = x1.fma(b2, c12); c13 = x1.fma(b3, c13);
            FloatVector x2 = FloatVector.broadcast(S, a[r2 + p]);
            c20 = x2.fma(b0, c20); c21 = x2.fma(b1, c21); c22 = x2.fma(b2, c22); c23 = x2.fma(b3, c23);
            FloatVector x3 = FloatVector.broadcast(S, a[r3 + p]);
            c30 = x3.fma(b0, c30); c31 = x3.fma(b1, c31); c32 = x3.fma(b2, c32); c33 = x3.fma(b3, c33);
        }
        c00.intoArray(c, c0); c01.intoArray(c, c0 + L); c02.intoArray(c, c0 + 2 * L); c03.intoArray(c, c0 + 3 * L);
        c10.intoArray(c, c0 + n); c11.intoArray(c, c0 + n + L); c12.intoArray(c, c0 + n + 2 * L); c13.intoArray(c, c0 + n + 3 * L);
        c20.intoArray(c, c0 + 2 * n); c21.intoArray(c, c0 + 2 * n + L); c22.intoArray(c, c0 + 2 * n + 2 * L); c23.intoArray(c, c0 + 2 * n + 3 * L);
        c30.intoArray(c, c0 + 3 * n); c31.intoArray(c, c0 + 3 * n + L); c32.intoArray(c, c0 + 3 * n + 2 * L); c33.intoArray(c, c0 + 3 * n + 3 * L);
    }


    /**
     * out(N) = bias + x(K) · wt(K,N): one position through a Linear layer, as generation does per token. Each
     * weight is used once, so this runs at the speed the weights stream in: eight vectors of out in
     * registers (two FMA units x four cycles of latency) keep up with two loads a cycle, where four did not.
     */
    static void vecMat(float[] x, float[] wt, float[] bias, float[] out, int k, int n) {
        int j = 0;
        for (; j + 8 * L <= n; j += 8 * L) vecMat8(x, wt, out, k, n, j);
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

    /** out[j, j + 8L) = x · wt[., j, j + 8L). */
    private static void vecMat8(float[] x, float[] wt, float[] out, int k, int n, int j) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int p = 0; p < k; p++) {
            FloatVector xp = FloatVector.broadcast(S, x[p]);
            int row = p * n + j;
            a0 = FloatVector.fromArray(S, wt, row).fma(xp, a0);
            a1 = FloatVector.fromArray(S, wt, row + L).fma(xp, a1);
            a2 = FloatVector.fromArray(S, wt, row + 2 * L).fma(xp, a2);
            a3 = FloatVector.fromArray(S, wt, row + 3 * L).fma(xp, a3);
            a4 = FloatVector.fromArray(S, wt, row + 4 * L).fma(xp, a4);
            a5 = FloatVector.fromArray(S, wt, row + 5 * L).fma(xp, a5);
            a6 = FloatVector.fromArray(S, wt, row + 6 * L).fma(xp, a6);
            a7 = FloatVector.fromArray(S, wt, row + 7 * L).fma(xp, a7);
        }
        a0.intoArray(out, j);
        a1.intoArray(out, j + L);
        a2.intoArray(out, j + 2 * L);
        a3.intoArray(out, j + 3 * L);
        a4.intoArray(out, j + 4 * L);
        a5.intoArray(out, j + 5 * L);
        a6.intoArray(out, j + 6 * L);
        a7.intoArray(out, j + 7 * L);
    }
}
