package dev.toygpt.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link MatVec}'s kernels with SIMD registers (the Vector API).
 *
 * <p>Layout of a packed weight (in, out): the output columns are cut into chunks of CHUNK = 8 vectors (the
 * last one narrower, rounded up to whole vectors and zero-padded), and each chunk is stored p-major, its
 * in x width floats contiguous. A product then reads the whole weight as one forward stream, which the
 * hardware prefetcher follows across chunks and layers (read as a plain transposed matrix, each chunk was a
 * strided walk, and a baby-sized model ran at half the speed).
 *
 * <p>Every output element is the same chain: from 0, fma(w[p][j], x[p], acc) for p ascending, then the bias
 * is added and the epilogue applied. One row or a tile of rows, whichever vector or chunk holds the element,
 * gives bit-identical results, which is what lets the decoder encode several positions at once.
 *
 * <p>The columns short of a whole vector at the end are the lanes of one more vector, over the packing's zero
 * padding, of which only they are written. As a scalar chain each, the 15 such columns of a vocabulary of 79
 * characters took 700 ns of lm_head's 64 x 79 product, a token's last (now 150).
 */
final class SimdMatVec {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Columns per chunk: eight accumulators in flight keep both FMA pipes busy while the stream arrives. */
    static final int CHUNK = 8 * L;
    /** Rows per register tile of the several-rows product (times two vectors: 8 accumulators). */
    private static final int TILE_ROWS = 4;
    /**
     * Where the sums start in {@link #SUMS}: on a cache line ({@link CacheLines}). A vector stored across two lines
     * is not forwarded to the load that reads it back in {@link #finish}, which then waits for the store.
     */
    private static final int AT = CacheLines.firstAlignedFloat();
    /**
     * Per thread: a kernel's sums, stored straight from its registers; the bias and epilogue then run in
     * {@link #finish}. A method that took the accumulators as vector arguments was sometimes left out of
     * line by C2, which then boxed every vector (generation ran at half speed in such JVMs).
     */
    private static final ThreadLocal<float[]> SUMS = ThreadLocal.withInitial(() -> new float[AT + 2 * CHUNK]);

    private SimdMatVec() {}

    static int packedSize(int in, int out) {
        return in * roundUp(out);
    }

    private static int roundUp(int n) {
        return (n + L - 1) / L * L;
    }

    /** Packs w (out, in), row-major as a Linear stores it, into dst[off ..]. */
    static void pack(float[] w, int in, int out, float[] dst, int off) {
        for (int j0 = 0; j0 < out; j0 += CHUNK) {
            int width = Math.min(CHUNK, roundUp(out - j0)), base = off + in * j0;
            for (int j = j0; j < j0 + width; j++) {
                for (int p = 0; p < in; p++) dst[base + p * width + (j - j0)] = j < out ? w[j * in + p] : 0f;
            }
        }
    }

    /** out(n) (epilogue)= x(k) · packed + bias. */
    static void apply(float[] x, int xOff, float[] w, int wOff, float[] bias, float[] out, int outOff, int k, int n, MatVec.Then then) {
        apply(x, xOff, w, wOff, bias, out, outOff, k, n, then, SUMS.get());
    }

    private static void apply(float[] x, int xOff, float[] w, int wOff, float[] bias, float[] out, int outOff, int k, int n,
                              MatVec.Then then, float[] sums) {
        apply(x, xOff, w, wOff, bias, out, outOff, k, null, 0, n, then, sums);
    }

    /**
     * {@link #apply} with the sum over the all inputs cut into parts, part i from input cuts[i] to cuts[i + 1]
     * (null: one part), its sums (then)= into out[outOff + i * partStride ..]. Each part is its own chain,
     * from 0, as if it were a product of its own, while the weight is still read as one stream.
     */
    private static void apply(float[] x, int x0, float[] w, int wOff, float[] bias, float[] out, int out0, int all, int[] cuts,
                              int partStride, int n, MatVec.Then then, float[] sums) {
        int parts = cuts == null ? 1 : cuts.length - 1;
        for (int j0 = 0; j0 < n; j0 += CHUNK) {
            int width = Math.min(CHUNK, roundUp(n - j0));
            for (int i = 0; i < parts; i++) {
                int p0 = cuts == null ? 0 : cuts[i], k = cuts == null ? all : cuts[i + 1] - p0;
                int base = wOff + all * j0 + p0 * width, xOff = x0 + p0, outOff = out0 + i * partStride;
                if (n - j0 >= CHUNK) {
                    chunk8(x, xOff, w, base, k, sums);
                    finish(sums, AT, CHUNK, bias, out, outOff, j0, then);
                    continue;
                }
                int v = 0;
                for (; j0 + v + 4 * L <= n; v += 4 * L) {
                    quad(x, xOff, w, base + v, width, k, sums);
                    finish(sums, AT, 4 * L, bias, out, outOff, j0 + v, then);
                }
                if (j0 + v + 2 * L <= n) {
                    pair(x, xOff, w, base + v, width, k, sums);
                    finish(sums, AT, 2 * L, bias, out, outOff, j0 + v, then);
                    v += 2 * L;
                }
                for (; j0 + v < n; v += L) { // the last vector may be partly padding
                    FloatVector a = FloatVector.zero(S);
                    for (int p = 0; p < k; p++) a = FloatVector.fromArray(S, w, base + p * width + v).fma(FloatVector.broadcast(S, x[xOff + p]), a);
                    a.intoArray(sums, AT);
                    if (j0 + v + L <= n) finish(sums, AT, L, bias, out, outOff, j0 + v, then);
                    else finishLanes(sums, AT, n - j0 - v, bias, out, outOff, j0 + v, then);
                }
            }
        }
    }

    /** Four vectors of a narrower last chunk (AVX-512 at seed width): four chains in flight rather than one. */
    private static void quad(float[] x, int xOff, float[] w, int base, int width, int k, float[] sums) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (int p = 0; p < k; p++) {
            FloatVector xp = FloatVector.broadcast(S, x[xOff + p]);
            int row = base + p * width;
            a0 = FloatVector.fromArray(S, w, row).fma(xp, a0);
            a1 = FloatVector.fromArray(S, w, row + L).fma(xp, a1);
            a2 = FloatVector.fromArray(S, w, row + 2 * L).fma(xp, a2);
            a3 = FloatVector.fromArray(S, w, row + 3 * L).fma(xp, a3);
        }
        a0.intoArray(sums, AT);
        a1.intoArray(sums, AT + L);
        a2.intoArray(sums, AT + 2 * L);
        a3.intoArray(sums, AT + 3 * L);
    }

    /** Two vectors of a narrow chunk (a decoder thread's slice): two chains in flight rather than one after the other. */
    private static void pair(float[] x, int xOff, float[] w, int base, int width, int k, float[] sums) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0;
        for (int p = 0; p < k; p++) {
            FloatVector xp = FloatVector.broadcast(S, x[xOff + p]);
            int row = base + p * width;
            a0 = FloatVector.fromArray(S, w, row).fma(xp, a0);
            a1 = FloatVector.fromArray(S, w, row + L).fma(xp, a1);
        }
        a0.intoArray(sums, AT);
        a1.intoArray(sums, AT + L);
    }

    private static void chunk8(float[] x, int xOff, float[] w, int base, int k, float[] sums) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int p = 0; p < k; p++) {
            FloatVector xp = FloatVector.broadcast(S, x[xOff + p]);
            int row = base + p * CHUNK;
            a0 = FloatVector.fromArray(S, w, row).fma(xp, a0);
            a1 = FloatVector.fromArray(S, w, row + L).fma(xp, a1);
            a2 = FloatVector.fromArray(S, w, row + 2 * L).fma(xp, a2);
            a3 = FloatVector.fromArray(S, w, row + 3 * L).fma(xp, a3);
            a4 = FloatVector.fromArray(S, w, row + 4 * L).fma(xp, a4);
            a5 = FloatVector.fromArray(S, w, row + 5 * L).fma(xp, a5);
            a6 = FloatVector.fromArray(S, w, row + 6 * L).fma(xp, a6);
            a7 = FloatVector.fromArray(S, w, row + 7 * L).fma(xp, a7);
        }
        a0.intoArray(sums, AT);
        a1.intoArray(sums, AT + L);
        a2.intoArray(sums, AT + 2 * L);
        a3.intoArray(sums, AT + 3 * L);
        a4.intoArray(sums, AT + 4 * L);
        a5.intoArray(sums, AT + 5 * L);
        a6.intoArray(sums, AT + 6 * L);
        a7.intoArray(sums, AT + 7 * L);
    }

    /**
     * Rows [r0, r1) of out (epilogue)= x(rows, k) · packed + bias, row r of out at outOff + r * outStride, in
     * tiles of 4 rows x 2 vectors:
     * each chunk of the weight (at most 64 KB at seed and baby widths on AVX2, k x CHUNK) is read from memory
     * once and then from the L1/L2 cache for every tile of rows.
     */
    static void applyRows(float[] x, float[] w, int wOff, float[] bias, float[] out, int outOff, int outStride, int r0, int r1, int k, int n,
                          MatVec.Then then) {
        float[] sums = SUMS.get();
        int tiled = r0 + (r1 - r0) / TILE_ROWS * TILE_ROWS;
        for (int j0 = 0; j0 < n; j0 += CHUNK) {
            int width = Math.min(CHUNK, roundUp(n - j0)), base = wOff + k * j0;
            int whole = Math.min(width, n - j0) / L * L; // the chunk's columns in whole vectors
            for (int r = r0; r < tiled; r += TILE_ROWS) {
                int v = 0;
                for (; v + 2 * L <= whole; v += 2 * L) {
                    tile4x2(x, r, w, base + v, width, k, sums);
                    for (int i = 0; i < TILE_ROWS; i++) finish(sums, AT + i * 2 * L, 2 * L, bias, out, outOff + (r + i) * outStride, j0 + v, then);
                }
                if (v < whole) {
                    tile4x1(x, r, w, base + v, width, k, sums);
                    for (int i = 0; i < TILE_ROWS; i++) finish(sums, AT + i * L, L, bias, out, outOff + (r + i) * outStride, j0 + v, then);
                }
            }
        }
        if (n % L != 0) { // the last columns, short of a whole vector, all in the last chunk
            int j0 = (n - 1) / CHUNK * CHUNK, width = roundUp(n - j0), base = wOff + k * j0, v = n / L * L - j0;
            for (int r = r0; r < tiled; r += TILE_ROWS) {
                tile4x1(x, r, w, base + v, width, k, sums);
                for (int i = 0; i < TILE_ROWS; i++) finishLanes(sums, AT + i * L, n % L, bias, out, outOff + (r + i) * outStride, j0 + v, then);
            }
        }
        int r = tiled;
        for (; r + 2 <= r1; r += 2) applyTwo(x, r * k, w, wOff, bias, out, outOff + r * outStride, outStride, k, n, then, sums);
        if (r < r1) apply(x, r * k, w, wOff, bias, out, outOff + r * outStride, k, n, then, sums);
    }

    /** {@link MatVec#applyInParts}. */
    static void applyInParts(float[] x, int xStride, float[] w, int wOff, float[] out, int outOff, int outStride, int partStride,
                             int r0, int r1, int k, int[] cuts, int n) {
        float[] sums = SUMS.get();
        int r = r0;
        for (; r + 2 <= r1; r += 2) {
            applyTwo(x, r * xStride, xStride, w, wOff, null, out, outOff + r * outStride, outStride, k, cuts, partStride, n, MatVec.Then.STORE,
                    sums);
        }
        if (r < r1) apply(x, r * xStride, w, wOff, null, out, outOff + r * outStride, k, cuts, partStride, n, MatVec.Then.STORE, sums);
    }

    /**
     * Two rows (x at xOff and xOff + k, out at outOff and outOff + outStride) for one read of the weight, as
     * {@link #apply} does one: two rows' worth of arithmetic on the same stream from memory. This is what
     * makes the decoder's second position per token (its next window, see GptDecoder) nearly free.
     */
    private static void applyTwo(float[] x, int xOff, float[] w, int wOff, float[] bias, float[] out, int outOff, int outStride, int k,
                                 int n, MatVec.Then then, float[] sums) {
        applyTwo(x, xOff, k, w, wOff, bias, out, outOff, outStride, k, null, 0, n, then, sums);
    }

    /**
     * {@link #applyTwo} with the second row of x at x0 + xStride, and the sum over the inputs in parts as
     * {@link #apply(float[], int, float[], int, float[], float[], int, int, int[], int, int, MatVec.Then, float[])}
     * takes it.
     */
    private static void applyTwo(float[] x, int x0, int xStride, float[] w, int wOff, float[] bias, float[] out, int out0, int outStride,
                                 int all, int[] cuts, int partStride, int n, MatVec.Then then, float[] sums) {
        int parts = cuts == null ? 1 : cuts.length - 1;
        for (int j0 = 0; j0 < n; j0 += CHUNK) {
            int width = Math.min(CHUNK, roundUp(n - j0));
            for (int i = 0; i < parts; i++) {
                int p0 = cuts == null ? 0 : cuts[i], k = cuts == null ? all : cuts[i + 1] - p0;
                int base = wOff + all * j0 + p0 * width, xOff = x0 + p0, xOff2 = xOff + xStride, outOff = out0 + i * partStride;
                if (n - j0 >= CHUNK && L >= 16) { // 16 accumulators: AVX-512 has the 32 registers for them
                    chunk8x2(x, xOff, xOff2, w, base, k, sums);
                    finish(sums, AT, CHUNK, bias, out, outOff, j0, then);
                    finish(sums, AT + CHUNK, CHUNK, bias, out, outOff + outStride, j0, then);
                    continue;
                }
                int v = 0, end = Math.min(n, j0 + width); // on AVX2 a whole chunk comes here too: stay inside it
                for (; j0 + v + 4 * L <= end; v += 4 * L) {
                    quadx2(x, xOff, xOff2, w, base + v, width, k, sums);
                    finish(sums, AT, 4 * L, bias, out, outOff, j0 + v, then);
                    finish(sums, AT + 4 * L, 4 * L, bias, out, outOff + outStride, j0 + v, then);
                }
                if (j0 + v + 2 * L <= end) {
                    pairx2(x, xOff, xOff2, w, base + v, width, k, sums);
                    finish(sums, AT, 2 * L, bias, out, outOff, j0 + v, then);
                    finish(sums, AT + 2 * L, 2 * L, bias, out, outOff + outStride, j0 + v, then);
                    v += 2 * L;
                }
                for (; j0 + v < end; v += L) { // the last vector may be partly padding
                    FloatVector a = FloatVector.zero(S), b = a;
                    for (int p = 0; p < k; p++) {
                        FloatVector wp = FloatVector.fromArray(S, w, base + p * width + v);
                        a = wp.fma(FloatVector.broadcast(S, x[xOff + p]), a);
                        b = wp.fma(FloatVector.broadcast(S, x[xOff2 + p]), b);
                    }
                    a.intoArray(sums, AT);
                    b.intoArray(sums, AT + L);
                    if (j0 + v + L <= end) {
                        finish(sums, AT, L, bias, out, outOff, j0 + v, then);
                        finish(sums, AT + L, L, bias, out, outOff + outStride, j0 + v, then);
                    } else {
                        finishLanes(sums, AT, end - j0 - v, bias, out, outOff, j0 + v, then);
                        finishLanes(sums, AT + L, end - j0 - v, bias, out, outOff + outStride, j0 + v, then);
                    }
                }
            }
        }
    }

    /** {@link #chunk8} for two rows: row 0's sums at 0, row 1's at CHUNK. */
    private static void chunk8x2(float[] x, int xOff, int xOff2, float[] w, int base, int k, float[] sums) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
        for (int p = 0; p < k; p++) {
            FloatVector xa = FloatVector.broadcast(S, x[xOff + p]), xb = FloatVector.broadcast(S, x[xOff2 + p]);
            int row = base + p * CHUNK;
            FloatVector w0 = FloatVector.fromArray(S, w, row), w1 = FloatVector.fromArray(S, w, row + L);
            a0 = w0.fma(xa, a0);
            b0 = w0.fma(xb, b0);
            a1 = w1.fma(xa, a1);
            b1 = w1.fma(xb, b1);
            FloatVector w2 = FloatVector.fromArray(S, w, row + 2 * L), w3 = FloatVector.fromArray(S, w, row + 3 * L);
            a2 = w2.fma(xa, a2);
            b2 = w2.fma(xb, b2);
            a3 = w3.fma(xa, a3);
            b3 = w3.fma(xb, b3);
            FloatVector w4 = FloatVector.fromArray(S, w, row + 4 * L), w5 = FloatVector.fromArray(S, w, row + 5 * L);
            a4 = w4.fma(xa, a4);
            b4 = w4.fma(xb, b4);
            a5 = w5.fma(xa, a5);
            b5 = w5.fma(xb, b5);
            FloatVector w6 = FloatVector.fromArray(S, w, row + 6 * L), w7 = FloatVector.fromArray(S, w, row + 7 * L);
            a6 = w6.fma(xa, a6);
            b6 = w6.fma(xb, b6);
            a7 = w7.fma(xa, a7);
            b7 = w7.fma(xb, b7);
        }
        a0.intoArray(sums, AT);
        a1.intoArray(sums, AT + L);
        a2.intoArray(sums, AT + 2 * L);
        a3.intoArray(sums, AT + 3 * L);
        a4.intoArray(sums, AT + 4 * L);
        a5.intoArray(sums, AT + 5 * L);
        a6.intoArray(sums, AT + 6 * L);
        a7.intoArray(sums, AT + 7 * L);
        b0.intoArray(sums, AT + CHUNK);
        b1.intoArray(sums, AT + CHUNK + L);
        b2.intoArray(sums, AT + CHUNK + 2 * L);
        b3.intoArray(sums, AT + CHUNK + 3 * L);
        b4.intoArray(sums, AT + CHUNK + 4 * L);
        b5.intoArray(sums, AT + CHUNK + 5 * L);
        b6.intoArray(sums, AT + CHUNK + 6 * L);
        b7.intoArray(sums, AT + CHUNK + 7 * L);
    }

    /** {@link #quad} for two rows: row 0's sums at 0, row 1's at 4L. */
    private static void quadx2(float[] x, int xOff, int xOff2, float[] w, int base, int width, int k, float[] sums) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int p = 0; p < k; p++) {
            FloatVector xa = FloatVector.broadcast(S, x[xOff + p]), xb = FloatVector.broadcast(S, x[xOff2 + p]);
            int row = base + p * width;
            FloatVector w0 = FloatVector.fromArray(S, w, row), w1 = FloatVector.fromArray(S, w, row + L);
            FloatVector w2 = FloatVector.fromArray(S, w, row + 2 * L), w3 = FloatVector.fromArray(S, w, row + 3 * L);
            a0 = w0.fma(xa, a0);
            b0 = w0.fma(xb, b0);
            a1 = w1.fma(xa, a1);
            b1 = w1.fma(xb, b1);
            a2 = w2.fma(xa, a2);
            b2 = w2.fma(xb, b2);
            a3 = w3.fma(xa, a3);
            b3 = w3.fma(xb, b3);
        }
        a0.intoArray(sums, AT);
        a1.intoArray(sums, AT + L);
        a2.intoArray(sums, AT + 2 * L);
        a3.intoArray(sums, AT + 3 * L);
        b0.intoArray(sums, AT + 4 * L);
        b1.intoArray(sums, AT + 5 * L);
        b2.intoArray(sums, AT + 6 * L);
        b3.intoArray(sums, AT + 7 * L);
    }

    /** {@link #pair} for two rows: row 0's sums at 0, row 1's at 2L. */
    private static void pairx2(float[] x, int xOff, int xOff2, float[] w, int base, int width, int k, float[] sums) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, b0 = a0, b1 = a0;
        for (int p = 0; p < k; p++) {
            FloatVector xa = FloatVector.broadcast(S, x[xOff + p]), xb = FloatVector.broadcast(S, x[xOff2 + p]);
            int row = base + p * width;
            FloatVector w0 = FloatVector.fromArray(S, w, row), w1 = FloatVector.fromArray(S, w, row + L);
            a0 = w0.fma(xa, a0);
            b0 = w0.fma(xb, b0);
            a1 = w1.fma(xa, a1);
            b1 = w1.fma(xb, b1);
        }
        a0.intoArray(sums, AT);
        a1.intoArray(sums, AT + L);
        b0.intoArray(sums, AT + 2 * L);
        b1.intoArray(sums, AT + 3 * L);
    }

    /** Sums of rows r .. r+3 over two vectors of columns, into sums: row i at i * 2L. */
    private static void tile4x2(float[] x, int r, float[] w, int base, int width, int k, float[] sums) {
        FloatVector a00 = FloatVector.zero(S), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        int x0 = r * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        for (int p = 0; p < k; p++) {
            int row = base + p * width;
            FloatVector w0 = FloatVector.fromArray(S, w, row), w1 = FloatVector.fromArray(S, w, row + L);
            FloatVector b = FloatVector.broadcast(S, x[x0 + p]);
            a00 = w0.fma(b, a00);
            a01 = w1.fma(b, a01);
            b = FloatVector.broadcast(S, x[x1 + p]);
            a10 = w0.fma(b, a10);
            a11 = w1.fma(b, a11);
            b = FloatVector.broadcast(S, x[x2 + p]);
            a20 = w0.fma(b, a20);
            a21 = w1.fma(b, a21);
            b = FloatVector.broadcast(S, x[x3 + p]);
            a30 = w0.fma(b, a30);
            a31 = w1.fma(b, a31);
        }
        a00.intoArray(sums, AT);
        a01.intoArray(sums, AT + L);
        a10.intoArray(sums, AT + 2 * L);
        a11.intoArray(sums, AT + 3 * L);
        a20.intoArray(sums, AT + 4 * L);
        a21.intoArray(sums, AT + 5 * L);
        a30.intoArray(sums, AT + 6 * L);
        a31.intoArray(sums, AT + 7 * L);
    }

    /** Sums of rows r .. r+3 over one vector of columns, into sums: row i at i * L. */
    private static void tile4x1(float[] x, int r, float[] w, int base, int width, int k, float[] sums) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        int x0 = r * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        for (int p = 0; p < k; p++) {
            FloatVector w0 = FloatVector.fromArray(S, w, base + p * width);
            a0 = w0.fma(FloatVector.broadcast(S, x[x0 + p]), a0);
            a1 = w0.fma(FloatVector.broadcast(S, x[x1 + p]), a1);
            a2 = w0.fma(FloatVector.broadcast(S, x[x2 + p]), a2);
            a3 = w0.fma(FloatVector.broadcast(S, x[x3 + p]), a3);
        }
        a0.intoArray(sums, AT);
        a1.intoArray(sums, AT + L);
        a2.intoArray(sums, AT + 2 * L);
        a3.intoArray(sums, AT + 3 * L);
    }

    /** {@link MatVec#addParts} for the whole vectors of n; returns where the rest begins. */
    static int addParts(float[] parts, int partsOff, int partStride, int count, float[] bias, float[] x, int xOff, int n) {
        int j = 0;
        for (; j + L <= n; j += L) {
            FloatVector sum = FloatVector.fromArray(S, parts, partsOff + j);
            for (int i = 1; i < count; i++) sum = sum.add(FloatVector.fromArray(S, parts, partsOff + i * partStride + j));
            if (bias != null) sum = sum.add(FloatVector.fromArray(S, bias, j));
            FloatVector.fromArray(S, x, xOff + j).add(sum).intoArray(x, xOff + j);
        }
        return j;
    }

    /**
     * The first count lanes of a vector's sums at sums[off ..], as {@link #finish} writes a vector: the same
     * operations, one column at a time (the vector past them would reach beyond the bias and the row).
     */
    private static void finishLanes(float[] sums, int off, int count, float[] bias, float[] out, int outOff, int j, MatVec.Then then) {
        for (int i = 0; i < count; i++) {
            float r = sums[off + i];
            if (bias != null) r += bias[j + i];
            out[outOff + j + i] = MatVec.then(then, out[outOff + j + i], r);
        }
    }

    /** Writes columns j .. j+width of one output row from sums[off ..]: (sum + bias), then the epilogue. */
    private static void finish(float[] sums, int off, int width, float[] bias, float[] out, int outOff, int j, MatVec.Then then) {
        for (int v = 0; v < width; v += L) {
            FloatVector r = FloatVector.fromArray(S, sums, off + v);
            if (bias != null) r = r.add(FloatVector.fromArray(S, bias, j + v));
            if (then == MatVec.Then.RELU) r = r.max(0f);
            else if (then == MatVec.Then.ADD) r = FloatVector.fromArray(S, out, outOff + j + v).add(r);
            r.intoArray(out, outOff + j + v);
        }
    }
}
