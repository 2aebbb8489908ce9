package dev.toygpt.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** FloatExp must give exactly (float) Math.exp: a softmax weight one ulp off could change a sampled token. */
class FloatExpTest {
    private static void check(float x) {
        assertEquals(Float.floatToIntBits((float) Math.exp(x)), Float.floatToIntBits(FloatExp.exp(x)), "exp(" + x + ")");
    }

    @Test
    void equalsMathExpRoundedToFloatAcrossTheRange() {
        // every 61st float from -120 to 120 (about 30 million), then every float near the ends of the fast range
        int from = Float.floatToIntBits(-120f), zero = Float.floatToIntBits(-0f);
        for (int bits = from; bits > zero; bits -= 61) check(Float.intBitsToFloat(bits)); // negative floats: bits fall towards -0
        for (int bits = 0; bits <= Float.floatToIntBits(120f); bits += 61) check(Float.intBitsToFloat(bits));
        for (float end : new float[] {-87f, 88f, 0f, -1e-30f, 1e-30f}) {
            float x = end;
            for (int i = 0; i < 100_000; i++) x = Math.nextDown(x);
            for (int i = 0; i < 200_000; i++, x = Math.nextUp(x)) check(x);
        }
        for (float x : new float[] {Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, -Float.MAX_VALUE, Float.MAX_VALUE,
                Float.MIN_VALUE, -Float.MIN_VALUE, -0f, 0f}) {
            check(x);
        }
    }

    @Test
    void softmaxGivesTheFloatsOfTheMathExpSoftmax() {
        dev.toygpt.util.Rng rng = new dev.toygpt.util.Rng(5);
        for (int n = 1; n <= 70; n++) {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) x[i] = (float) (rng.nextGaussian() * 4);
            float[] expected = new float[n];
            Softmax.softmaxRow(x, 0, expected, 0, n);
            float[] actual = x.clone();
            FloatExp.softmaxRow(actual, 0, n);
            org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual, "n = " + n);
            float sum = 0f;
            for (float v : actual) sum += v;
            assertTrue(Math.abs(sum - 1f) < 1e-5f);
        }
    }
}
