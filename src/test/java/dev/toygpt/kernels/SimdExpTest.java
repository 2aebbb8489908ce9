package dev.toygpt.kernels;

import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The SIMD exponentials: cross-entropy's exactly Math.exp's floats, the sampler's within 2^-48 of its doubles. */
class SimdExpTest {
    @Test
    void everyExponentGivesTheFloatOfMathExp() {
        assumeTrue(MatMul.SIMD, "needs the Vector API");
        int batch = 4096;
        double[] d = new double[batch], y = new double[batch];
        // every 127th float from -120 to 120 (about 18 million), past both ends of the fast range
        long from = Float.floatToIntBits(120f);
        for (long i = -from; i <= from; ) {
            int n = 0;
            for (; n < batch && i <= from; n++, i += 127) {
                int bits = i < 0 ? (int) (-i) | 0x80000000 : (int) i; // sign and magnitude: -i is the magnitude's bits
                d[n] = Float.intBitsToFloat(bits);
            }
            SimdExp.exp(d, y, n);
            for (int j = 0; j < n; j++) {
                float expected = (float) Math.exp(d[j]), actual = SimdExp.toFloat(d[j], y[j]);
                if (Float.floatToIntBits(expected) != Float.floatToIntBits(actual)) fail("exp(" + d[j] + "): " + actual + ", Math.exp gives " + expected);
            }
        }
    }

    @Test
    void expInPlaceIsWithin2ToTheMinus48OfMathExpAndIsMathExpBelowMinus87() {
        Rng rng = new Rng(9);
        int n = 1000;
        double[] x = new double[Softmax.expRoom(n)], original = new double[n];
        for (int i = 0; i < n; i++) x[i] = original[i] = -rng.nextDouble() * (i % 3 == 0 ? 200 : 30);
        x[0] = original[0] = 0;
        x[1] = original[1] = -87; // the fast range's lowest
        x[2] = original[2] = Math.nextDown(-87.0);
        x[3] = original[3] = Double.NEGATIVE_INFINITY; // a logit of -inf
        x[4] = original[4] = Double.NaN;
        x[5] = original[5] = -1e-300;
        Softmax.expInPlace(x, n);
        for (int i = 0; i < n; i++) {
            double expected = Math.exp(original[i]);
            if (original[i] < -87 || Double.isNaN(original[i])) assertEquals(expected, x[i], 0.0, "exp(" + original[i] + ")");
            else assertEquals(expected, x[i], expected * 0x1p-48, "exp(" + original[i] + ")");
        }
    }
}
