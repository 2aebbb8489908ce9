package dev.toygpt.kernels;

import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A vector's lanes are added as a tree, the upper half onto the lower until one lane is left: the order that
 * LayerNorm's sums and the softmax's total use in training and in generation, whatever the JIT has compiled.
 */
class SimdLaneSumTest {
    @Test
    void theLanesAreAddedUpperHalfOntoLowerUntilOneIsLeft() {
        assumeTrue(MatMul.SIMD, "needs the Vector API");
        int lanes = SimdVec.lanes(), orderShowed = 0;
        Rng rng = new Rng(4);
        for (int trial = 0; trial < 2000; trial++) {
            int at = trial % 5;
            float[] v = new float[at + lanes];
            // magnitudes from 2^-20 to 2^20, both signs: the rounding depends on the order of the additions
            for (int i = 0; i < v.length; i++) v[i] = (rng.nextFloat() - 0.5f) * (float) Math.scalb(1.0, (int) (rng.nextFloat() * 40) - 20);
            float[] tree = java.util.Arrays.copyOfRange(v, at, at + lanes);
            for (int half = lanes / 2; half >= 1; half /= 2) {
                for (int i = 0; i < half; i++) tree[i] += tree[i + half];
            }
            float inOrder = 0f;
            for (int i = 0; i < lanes; i++) inOrder += v[at + i];
            if (Float.floatToIntBits(inOrder) != Float.floatToIntBits(tree[0])) orderShowed++;
            assertEquals(Float.floatToIntBits(tree[0]), Float.floatToIntBits(SimdVec.laneSum(v, at)), "trial " + trial);
        }
        assertTrue(orderShowed > 100, "the values should tell the orders apart: " + orderShowed);
    }
}
