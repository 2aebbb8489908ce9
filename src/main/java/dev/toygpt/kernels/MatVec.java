package dev.toygpt.kernels;

/**
 * Products of one activation vector (or a few rows) with a Linear layer's weight, as generation needs them:
 * out = x Wᵀ + bias, then an epilogue ({@link Then}) applied while the result is still in registers.
 *
 * <p>A weight is first packed ({@link #pack}) into the layout the active kernel reads as one forward stream;
 * several weights may share one array, each at its own offset. A product of one vector reads each weight
 * once and does two floating-point operations per float read, so its speed is the speed at which memory
 * delivers the weight: the layout matters more than the arithmetic.
 *
 * <p>Each output element is computed the same way whether it comes from {@link #apply} or {@link #applyRows},
 * and whatever its row: several positions encoded at once give bit-identical results to one at a time.
 */
public final class MatVec {
    /** What happens to (x Wᵀ + bias) before it is stored. */
    public enum Then {
        /** out = x Wᵀ + b */
        STORE,
        /** out = max(x Wᵀ + b, 0): a Linear followed by ReLU */
        RELU,
        /** out = out + (x Wᵀ + b): a Linear whose result is added to the residual stream */
        ADD
    }

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    private MatVec() {}

    /** Floats a packed (out, in) weight takes. */
    public static int packedSize(int in, int out) {
        return MatMul.SIMD ? SimdMatVec.packedSize(in, out) : in * out;
    }

    /** Packs w (out, in), row-major as a Linear stores it, into dst from off on ({@link #packedSize} floats). */
    public static void pack(float[] w, int in, int out, float[] dst, int off) {
        if (MatMul.SIMD) {
            SimdMatVec.pack(w, in, out, dst, off);
            return;
        }
        for (int j = 0; j < out; j++) {
            for (int p = 0; p < in; p++) dst[off + p * out + j] = w[j * in + p]; // transposed: (in, out)
        }
    }

    /** out[outOff ..+ n] (then)= x[xOff ..+ k] · W + bias, W packed at w[wOff ..]; bias may be null. */
    public static void apply(float[] x, int xOff, float[] w, int wOff, float[] bias, float[] out, int outOff, int k, int n, Then then) {
        if (MatMul.SIMD) {
            SimdMatVec.apply(x, xOff, w, wOff, bias, out, outOff, k, n, then);
            return;
        }
        portable(x, xOff, w, wOff, bias, out, outOff, k, n, then);
    }

    /**
     * The same for rows [r0, r1) of x(rows, k), row r of the result at out[outOff + r * outStride ..+ n] (a
     * product of some of a layer's columns writes into rows wider than itself). Reads each part of the weight
     * once for many rows, so it runs at the speed of arithmetic rather than of memory.
     */
    public static void applyRows(float[] x, float[] w, int wOff, float[] bias, float[] out, int outOff, int outStride, int r0, int r1,
                                 int k, int n, Then then) {
        if (MatMul.SIMD) {
            SimdMatVec.applyRows(x, w, wOff, bias, out, outOff, outStride, r0, r1, k, n, then);
            return;
        }
        for (int r = r0; r < r1; r++) portable(x, r * k, w, wOff, bias, out, outOff + r * outStride, k, n, then);
    }

    /**
     * A product whose sum over its k inputs is taken in parts, part i over inputs cuts[i] .. cuts[i + 1] - 1
     * (cuts[0] = 0, the last k), each part a chain of its own from 0 (the same floats as a product of that
     * part's inputs alone), with the weight read once for all parts: for rows [r0, r1) of x (row r at
     * r * xStride), part i of row r is stored, without bias, at out[outOff + i * partStride + r * outStride ..+ n].
     * The decoder's sums over heads take this shape.
     */
    public static void applyInParts(float[] x, int xStride, float[] w, int wOff, float[] out, int outOff, int outStride, int partStride,
                                    int r0, int r1, int k, int[] cuts, int n) {
        if (cuts.length < 2 || cuts[0] != 0 || cuts[cuts.length - 1] != k) throw new IllegalArgumentException("cuts must go from 0 to " + k);
        if (MatMul.SIMD) {
            SimdMatVec.applyInParts(x, xStride, w, wOff, out, outOff, outStride, partStride, r0, r1, k, cuts, n);
            return;
        }
        for (int r = r0; r < r1; r++) {
            for (int i = 0; i + 1 < cuts.length; i++) {
                portable(x, r * xStride + cuts[i], w, wOff + cuts[i] * n, null, out, outOff + i * partStride + r * outStride, cuts[i + 1] - cuts[i],
                        n, Then.STORE);
            }
        }
    }

    /**
     * x[xOff ..+ n] += (the count parts at parts[partsOff + i * partStride ..+ n], added in order) + bias (bias
     * may be null): the sum that {@link #applyInParts} leaves in parts, each element the same chain however
     * it is computed.
     */
    public static void addParts(float[] parts, int partsOff, int partStride, int count, float[] bias, float[] x, int xOff, int n) {
        int j = MatMul.SIMD ? SimdMatVec.addParts(parts, partsOff, partStride, count, bias, x, xOff, n) : 0;
        for (; j < n; j++) {
            float sum = parts[partsOff + j];
            for (int i = 1; i < count; i++) sum += parts[partsOff + i * partStride + j];
            x[xOff + j] += bias == null ? sum : sum + bias[j];
        }
    }

    /** The epilogue of one element: value is x Wᵀ + b, old what out held. */
    static float then(Then then, float old, float value) {
        return switch (then) {
            case STORE -> value;
            case RELU -> Math.max(value, 0f);
            case ADD -> old + value;
        };
    }

    /** Plain loops over the transposed weight (in, out): each input scales one contiguous row. */
    private static void portable(float[] x, int xOff, float[] w, int wOff, float[] bias, float[] out, int outOff, int k, int n, Then then) {
        float[] sum = SCRATCH.get();
        if (sum.length < n) SCRATCH.set(sum = new float[n]);
        if (bias == null) java.util.Arrays.fill(sum, 0, n, 0f);
        else System.arraycopy(bias, 0, sum, 0, n);
        for (int p = 0; p < k; p++) {
            float xp = x[xOff + p];
            if (xp == 0f) continue;
            int row = wOff + p * n;
            for (int j = 0; j < n; j++) sum[j] += xp * w[row + j];
        }
        for (int j = 0; j < n; j++) out[outOff + j] = then(then, out[outOff + j], sum[j]);
    }
}
