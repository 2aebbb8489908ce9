package dev.toygpt.kernels;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** Attention's backward pass writing dq, dk, dv (each head zeroing its own columns) against adding into zeros. */
class AttentionOverwriteTest {
    private final int defaultThreads = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(defaultThreads);
    }

    @Test
    void writingTheGradientsGivesTheSumsOntoZerosWhateverWasInTheArrays() {
        // seed's shape, and a ragged one (time not a multiple of the kernel's group of four, head size not a vector)
        int[][] shapes = {{16, 32, 64, 4}, {3, 7, 12, 2}};
        Random r = new Random(3);
        for (int[] shape : shapes) {
            int b = shape[0], t = shape[1], c = shape[2], h = shape[3], n = b * t * c;
            float[] q = random(r, n), k = random(r, n), v = random(r, n), dOut = random(r, n), out = new float[n];
            float[] att = new float[b * h * t * t];
            Attention.forward(q, k, v, out, att, null, b, t, c, h);
            for (int threads : new int[] {1, 2}) {
                Parallel.setThreads(threads);
                float[] dq = new float[n], dk = new float[n], dv = new float[n];
                Attention.backward(q, k, v, att, null, dOut, dq, dk, dv, b, t, c, h);
                float[] wq = filled(n), wk = filled(n), wv = filled(n);
                Attention.backward(q, k, v, att, null, dOut, wq, wk, wv, true, b, t, c, h);
                String what = Arrays.toString(shape) + " on " + threads + " threads";
                assertArrayEquals(dq, wq, "dq " + what);
                assertArrayEquals(dk, wk, "dk " + what);
                assertArrayEquals(dv, wv, "dv " + what);
                // only some of the gradients wanted: the others are left alone
                float[] onlyK = filled(n);
                Attention.backward(q, k, v, att, null, dOut, null, onlyK, null, true, b, t, c, h);
                assertArrayEquals(dk, onlyK, "dk alone " + what);
            }
        }
    }

    private static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    /** An array of a value no gradient sum would give: any element not written shows. */
    private static float[] filled(int n) {
        float[] x = new float[n];
        Arrays.fill(x, Float.NaN);
        return x;
    }
}
