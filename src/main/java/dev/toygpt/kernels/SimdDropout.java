package dev.toygpt.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Dropout}'s draws a vector at a time; loaded only when the module is present. A float vector of L
 * elements takes L / 4 hashes: L / 4 lanes of 64 bits, the same bits as L lanes of 16 in the lowest-first
 * order in which Dropout hands the quarters of a hash to four elements, so reinterpreting the hashes as shorts
 * lines each draw up with its element. The draws then become floats (exact below 2^24) and are compared with
 * the threshold. Only on AVX-512 ({@link #ENABLED}): it multiplies 64-bit lanes, which AVX2 lacks.
 */
final class SimdDropout {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** L / 4 hashes of 64 bits: a quarter of the float vector's width in bits, times four. */
    private static final VectorSpecies<Long> H = VectorSpecies.of(long.class, VectorShape.forBitSize(Math.max(64, 16 * L)));
    /** Whether the vector path runs: 512-bit floats (16 lanes), whose 4 hashes make a 256-bit vector. */
    static final boolean ENABLED = L == 16;

    private SimdDropout() {}

    /**
     * Zeroes x[off + j] where element first + j is dropped, for j from 0 in steps of L while j + L <= n;
     * first must be a multiple of 4 (the first element of a hash). Returns the j it stopped at.
     *
     * <p>Each loop computes its draws itself rather than calling a method that returns them: a vector or a mask
     * handed between methods that the JIT does not inline into one another is boxed, an allocation per call.
     */
    static int applyRow(float[] x, int off, int n, int threshold, long seed, long first) {
        float below = threshold - 32768;
        int j = 0;
        for (; j + L <= n; j += L) {
            // hash(seed, h) = mix(seed + (h + 1) * golden) for the L / 4 hashes h from (first + j) / 4, as Dropout.hash
            LongVector z = LongVector.broadcast(H, ((first + j) >>> 2) + 1).add(IOTA).mul(GOLDEN).add(seed);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 30)).mul(MIX1);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 27)).mul(MIX2);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 31));
            // the 16-bit draws, unsigned, as floats minus 2^15: flipping the top bit makes the signed short draw - 2^15
            FloatVector draws = (FloatVector) z.reinterpretAsShorts().lanewise(VectorOperators.XOR, (short) 0x8000).convertShape(VectorOperators.S2F, F, 0);
            FloatVector.fromArray(F, x, off + j).blend(0f, draws.compare(VectorOperators.LT, below)).intoArray(x, off + j);
        }
        return j;
    }

    /** y[yOff + j] = x[xOff + j] * keep, or +0 where element first + j is dropped: {@link #applyRow} with the multiply in the same pass. */
    static int scaleRow(float[] x, int xOff, float[] y, int yOff, int n, float keep, int threshold, long seed, long first) {
        float below = threshold - 32768;
        int j = 0;
        for (; j + L <= n; j += L) {
            LongVector z = LongVector.broadcast(H, ((first + j) >>> 2) + 1).add(IOTA).mul(GOLDEN).add(seed);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 30)).mul(MIX1);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 27)).mul(MIX2);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 31));
            FloatVector draws = (FloatVector) z.reinterpretAsShorts().lanewise(VectorOperators.XOR, (short) 0x8000).convertShape(VectorOperators.S2F, F, 0);
            FloatVector.fromArray(F, x, xOff + j).mul(keep).blend(0f, draws.compare(VectorOperators.LT, below)).intoArray(y, yOff + j);
        }
        return j;
    }

    /** dx[i] += d[i] * keep where element i is kept, for i from `from` in steps of L while i + L <= to (from a multiple of 4). */
    static int addApplied(float[] d, float[] dx, int from, int to, int threshold, float keep, long seed) {
        float below = threshold - 32768;
        int i = from;
        for (; i + L <= to; i += L) {
            LongVector z = LongVector.broadcast(H, ((long) i >>> 2) + 1).add(IOTA).mul(GOLDEN).add(seed);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 30)).mul(MIX1);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 27)).mul(MIX2);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 31));
            FloatVector draws = (FloatVector) z.reinterpretAsShorts().lanewise(VectorOperators.XOR, (short) 0x8000).convertShape(VectorOperators.S2F, F, 0);
            FloatVector g = FloatVector.fromArray(F, dx, i);
            // the dropped lanes keep dx as it is (adding +0 would turn a -0 into +0)
            g.add(FloatVector.fromArray(F, d, i).mul(keep)).blend(g, draws.compare(VectorOperators.LT, below)).intoArray(dx, i);
        }
        return i;
    }

    private static final long GOLDEN = 0x9E3779B97F4A7C15L, MIX1 = 0xBF58476D1CE4E5B9L, MIX2 = 0x94D049BB133111EBL;
    /** 0, 1, .., L/4 - 1: the hashes of one vector of elements, after the first. */
    private static final LongVector IOTA = LongVector.zero(H).addIndex(1);
}
