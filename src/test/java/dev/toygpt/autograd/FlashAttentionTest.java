package dev.toygpt.autograd;

import dev.toygpt.kernels.FlashAttention;
import dev.toygpt.kernels.Parallel;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.toygpt.autograd.GradChecker.param;
import static dev.toygpt.autograd.GradChecker.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FlashAttention}, the attention that training runs at long sequences, against the plain kernel
 * ({@link dev.toygpt.kernels.Attention}, which keeps the (B, H, T, T) weights): same outputs and gradients,
 * with and without dropout; gradients checked by finite differences; and it keeps no (T, T) arrays.
 */
class FlashAttentionTest {
    private final GradChecker checker = new GradChecker();

    /** Outputs and dq, dk, dv of one forward and backward pass of the chosen kernel. */
    private static float[][] run(Tensor q, Tensor k, Tensor v, float[] weights, int heads, float dropout, boolean flash) {
        for (Tensor p : new Tensor[]{q, k, v}) p.zeroGrad();
        Tensor out = F.causalSelfAttention(q, k, v, heads, dropout, new Rng(9), flash);
        F.sum(F.mul(out, Tensor.of(weights, out.shape()))).backward();
        return new float[][]{out.data().clone(), q.grad().clone(), k.grad().clone(), v.grad().clone()};
    }

    /**
     * Shapes: tiny, whole SIMD vectors per head, a ragged head (24 channels), baby's heads of 32 channels (the
     * plain kernel's keys eight at a time for dk, dv, then four, then one), and past the flash threshold.
     */
    @ParameterizedTest(name = "b={0} t={1} c={2} heads={3} dropout={4}")
    @CsvSource({"2, 5, 8, 2, 0", "2, 5, 8, 2, 0.25", "2, 37, 64, 4, 0", "2, 37, 64, 4, 0.3", "1, 20, 48, 2, 0",
            "1, 20, 48, 2, 0.2", "2, 64, 128, 4, 0", "1, 45, 64, 2, 0.2", "2, 130, 64, 2, 0", "2, 130, 64, 2, 0.2"})
    void givesThePlainKernelsOutputsAndGradients(int b, int t, int c, int heads, float dropout) {
        Rng rng = new Rng(60 + t);
        Tensor q = param(rng, b, t, c), k = param(rng, b, t, c), v = param(rng, b, t, c);
        float[] weights = randn(rng, b * t * c, 1, 0);
        float[][] plain = run(q, k, v, weights, heads, dropout, false);
        float[][] flash = run(q, k, v, weights, heads, dropout, true);
        String[] names = {"output", "dq", "dk", "dv"};
        for (int i = 0; i < names.length; i++) {
            float max = 0f;
            for (float x : plain[i]) max = Math.max(max, Math.abs(x));
            assertTrue(max > 0.1f, names[i] + " is all zeros, nothing was compared");
            for (int j = 0; j < plain[i].length; j++) {
                assertEquals(plain[i][j], flash[i][j], 2e-6f * Math.max(1f, max), names[i] + "[" + j + "]");
            }
        }
        if (dropout > 0f) { // and the dropout really is there: the weights are not those without it
            float[] without = run(q, k, v, weights, heads, 0f, true)[0];
            assertTrue(maxDiff(without, flash[0]) > 1e-2, "dropout changed nothing");
        }
    }

    @ParameterizedTest(name = "t={0} c={1} heads={2} dropout={3}")
    @CsvSource({"5, 8, 2, 0", "5, 8, 1, 0.25", "37, 64, 4, 0", "37, 64, 2, 0.25", "20, 48, 2, 0.25"})
    void gradientsMatchFiniteDifferences(int t, int c, int heads, float dropout) {
        Rng rng = new Rng(70 + t + heads);
        Tensor q = param(rng, 2, t, c), k = param(rng, 2, t, c), v = param(rng, 2, t, c);
        checker.assertGradients("flash attention t=" + t + " heads=" + heads + " dropout=" + dropout,
                () -> F.causalSelfAttention(q, k, v, heads, dropout, new Rng(79), true), q, k, v);
    }

    @Test
    void withoutGradientsItGivesTheSameOutputs() {
        Rng rng = new Rng(80);
        Tensor q = param(rng, 2, 37, 64), k = param(rng, 2, 37, 64), v = param(rng, 2, 37, 64);
        float[] kept = F.causalSelfAttention(q, k, v, 4, 0f, null, true).data();
        try (var off = GradMode.off()) {
            assertArrayEquals(kept, F.causalSelfAttention(q, k, v, 4, 0f, null, true).data());
        }
    }

    @Test
    void resultsDoNotDependOnTheThreadCount() {
        int saved = Parallel.threads();
        try {
            Rng rng = new Rng(81);
            Tensor q = param(rng, 3, 67, 64), k = param(rng, 3, 67, 64), v = param(rng, 3, 67, 64);
            float[] weights = randn(rng, 3 * 67 * 64, 1, 0);
            Parallel.setThreads(1);
            float[][] one = run(q, k, v, weights, 4, 0.2f, true);
            Parallel.setThreads(2);
            float[][] two = run(q, k, v, weights, 4, 0.2f, true);
            for (int i = 0; i < one.length; i++) assertArrayEquals(one[i], two[i], "result " + i);
        } finally {
            Parallel.setThreads(saved);
        }
    }

    /**
     * What a layer's attention holds from its forward pass until its backward pass: with the flash kernel the
     * output and two floats per (batch, head, query), not the (B, H, T, T) weights and their dropout mask.
     */
    @Test
    void keepsNoTimeByTimeArraysBetweenForwardAndBackward() {
        int b = 2, t = 64, c = 32, heads = 4;
        Rng rng = new Rng(82);
        Tensor q = param(rng, b, t, c), k = param(rng, b, t, c), v = param(rng, b, t, c);
        for (boolean flash : new boolean[]{true, false}) {
            BufferPool pool = new BufferPool();
            try (var scope = pool.lend()) {
                Tensor out = F.causalSelfAttention(q, k, v, heads, 0.2f, new Rng(1), flash);
                long kept = pool.floatsLent();
                long expected = (long) b * t * c + (flash ? FlashAttention.statsSize(b, t, heads) : (long) b * heads * t * t);
                assertEquals(expected, kept, (flash ? "flash" : "plain") + " kernel");
                F.sum(out).backward();
            }
        }
        assertEquals(2L * b * heads * t, FlashAttention.statsSize(b, t, heads));
    }

    @Test
    void theTrainingPathChoosesTheFlashKernelForLongSequences() {
        // the public function must give the flash kernel's results from FLASH_FROM_TIME on, the plain ones below
        Rng rng = new Rng(83);
        int t = F.FLASH_FROM_TIME;
        Tensor q = param(rng, 1, t, 16), k = param(rng, 1, t, 16), v = param(rng, 1, t, 16);
        BufferPool pool = new BufferPool();
        try (var scope = pool.lend()) {
            F.causalSelfAttention(q, k, v, 2, 0f, null);
            assertEquals((long) t * 16 + FlashAttention.statsSize(1, t, 2), pool.floatsLent());
        }
        Tensor qs = param(rng, 1, t - 1, 16), ks = param(rng, 1, t - 1, 16), vs = param(rng, 1, t - 1, 16);
        try (var scope = pool.lend()) {
            F.causalSelfAttention(qs, ks, vs, 2, 0f, null);
            assertEquals((long) (t - 1) * 16 + 2L * (t - 1) * (t - 1), pool.floatsLent());
        }
    }

    private static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
