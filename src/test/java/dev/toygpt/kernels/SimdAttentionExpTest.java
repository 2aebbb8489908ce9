package dev.toygpt.kernels;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The exponential that {@link FlashAttention}'s SIMD kernel computes its softmax weights with. */
class SimdAttentionExpTest {
    @Test
    void isWithinTwoUlpOfMathExpOverTheScoresRange() {
        assumeTrue(MatMul.SIMD, "needs the Vector API");
        var species = FloatVector.SPECIES_PREFERRED;
        float[] x = new float[species.length()], y = new float[species.length()];
        int worst = 0;
        // every score minus its row maximum is <= 0; below -87 e^x is under 1e-38, a weight of nothing
        for (float start = -87f; start <= 0f; start += 0.001f * x.length) {
            for (int i = 0; i < x.length; i++) x[i] = Math.min(0f, start + 0.001f * i);
            System.arraycopy(x, 0, y, 0, x.length);
            SimdAttention.expShifted(y, 0, 0f);
            for (int i = 0; i < x.length; i++) {
                float expected = (float) Math.exp(x[i]);
                int ulps = Math.abs(Float.floatToIntBits(y[i]) - Float.floatToIntBits(expected));
                worst = Math.max(worst, ulps);
                assertTrue(ulps <= 2, "exp(" + x[i] + ") = " + y[i] + ", Math.exp gives " + expected);
            }
        }
        assertTrue(worst > 0, "identical to Math.exp everywhere: is the test running the polynomial at all?");
        // the ends: e^0 is exactly 1, and far below the range it is a tiny positive number, never NaN or negative
        float[] ends = new float[species.length()];
        ends[1] = -200f;
        ends[2] = Float.NEGATIVE_INFINITY;
        System.arraycopy(ends, 0, y, 0, ends.length);
        SimdAttention.expShifted(y, 0, 0f);
        assertEquals(1f, y[0]);
        assertTrue(y[1] >= 0f && y[1] < 1e-37f && y[2] >= 0f && y[2] < 1e-37f, y[1] + ", " + y[2]);
    }
}
