package dev.toygpt.optim;

import dev.toygpt.autograd.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Update rules checked against the formulas of torch.optim, evaluated here in double precision. */
class OptimizerTest {
    private static Tensor param(float[] values, float[] grad) {
        Tensor p = Tensor.parameter(values.clone(), values.length);
        // give it a gradient through a tiny graph: loss = sum(p * grad)
        dev.toygpt.autograd.F.sum(dev.toygpt.autograd.F.mul(p, Tensor.of(grad.clone(), grad.length))).backward();
        return p;
    }

    @Test
    void sgdWithMomentumFollowsPyTorch() {
        float[] w = {1f, -2f};
        float[] g = {0.5f, 0.25f};
        Tensor p = param(w, g);
        Sgd sgd = new Sgd(List.of(p), 0.1f, 0.9f);
        sgd.step(); // buffer = g
        sgd.step(); // buffer = 0.9 g + g
        for (int i = 0; i < 2; i++) {
            double expected = w[i] - 0.1 * g[i] - 0.1 * (0.9 * g[i] + g[i]);
            assertEquals(expected, p.data()[i], 1e-6);
        }
    }

    @Test
    void adamWithL2DecayAndAdamWDifferAsInPyTorch() {
        float[] w = {1f, -3f};
        float[] g = {0.2f, -0.4f};
        float lr = 0.01f, wd = 0.1f;
        Tensor pAdam = param(w, g), pAdamW = param(w, g);
        new Adam(List.of(pAdam), lr, 0.9f, 0.999f, 1e-8f, wd, false).step();
        new Adam(List.of(pAdamW), lr, 0.9f, 0.999f, 1e-8f, wd, true).step();
        for (int i = 0; i < 2; i++) {
            // Adam: the decay joins the gradient; after one step m_hat = g', v_hat = g'^2
            double gi = g[i] + wd * w[i];
            double adam = w[i] - lr * gi / (Math.abs(gi) + 1e-8);
            assertEquals(adam, pAdam.data()[i], 1e-6);
            // AdamW: shrink first, then the plain Adam step on g
            double adamw = w[i] * (1 - lr * wd) - lr * g[i] / (Math.abs(g[i]) + 1e-8);
            assertEquals(adamw, pAdamW.data()[i], 1e-6);
        }
    }

    /** The one-pass kernel (SIMD for whole vectors, scalar for the rest) does exactly the float steps of the rule. */
    @Test
    void theFusedAdamKernelGivesExactlyTheScalarRule() {
        int n = 37; // whole vectors and a tail, whatever the vector width
        java.util.Random r = new java.util.Random(3);
        float[] p = new float[n], m = new float[n], v = new float[n];
        for (int i = 0; i < n; i++) p[i] = (float) r.nextGaussian();
        float[] p2 = p.clone(), m2 = m.clone(), v2 = v.clone();
        for (int step = 1; step <= 5; step++) {
            float[] g = new float[n];
            for (int i = 0; i < n; i++) g[i] = (float) r.nextGaussian() * (i % 3 == 0 ? 1e-3f : 1f);
            float beta1 = 0.9f, beta2 = 0.99f, eps = 1e-8f, stepSize = 0.01f * step, bias2Sqrt = 0.3f + 0.1f * step;
            float decay = step % 2 == 0 ? 0.999f : 1f, l2 = step % 2 == 0 ? 0f : 0.01f;
            dev.toygpt.kernels.AdamStep.update(p, g, m, v, beta1, beta2, eps, stepSize, bias2Sqrt, decay, l2);
            for (int i = 0; i < n; i++) {
                float gi = g[i] + l2 * p2[i];
                p2[i] *= decay;
                m2[i] = beta1 * m2[i] + (1 - beta1) * gi;
                v2[i] = beta2 * v2[i] + (1 - beta2) * gi * gi;
                p2[i] -= stepSize * m2[i] / ((float) Math.sqrt(v2[i]) / bias2Sqrt + eps);
            }
            assertArrayEquals(p2, p, "step " + step);
            assertArrayEquals(m2, m);
            assertArrayEquals(v2, v);
        }
    }

    /**
     * Adam shares all parameters out between threads in pieces (large parameters cut in several): each element
     * must still get exactly the kernel's update, with one thread or two, and a parameter without a gradient
     * none.
     */
    @Test
    void adamOverManyParametersAndThreadsGivesEachElementTheKernelsUpdate() {
        int saved = dev.toygpt.kernels.Parallel.threads();
        try {
            int[] sizes = {5, 9000, 64, 4096, 12289, 1};
            float[][] results = null;
            for (int threads = 1; threads <= 2; threads++) {
                dev.toygpt.kernels.Parallel.setThreads(threads);
                java.util.Random r = new java.util.Random(11);
                java.util.List<Tensor> ps = new java.util.ArrayList<>();
                float[][] start = new float[sizes.length][], grads = new float[sizes.length][];
                for (int i = 0; i < sizes.length; i++) {
                    start[i] = new float[sizes[i]];
                    grads[i] = new float[sizes[i]];
                    for (int j = 0; j < sizes[i]; j++) {
                        start[i][j] = (float) r.nextGaussian();
                        grads[i][j] = (float) r.nextGaussian();
                    }
                    ps.add(i == 3 ? Tensor.parameter(start[i].clone(), sizes[i]) : param(start[i], grads[i]));
                }
                Adam adam = Adam.adamW(ps, 1e-2f);
                adam.step();
                adam.step();
                float[][] now = new float[sizes.length][];
                for (int i = 0; i < sizes.length; i++) {
                    now[i] = ps.get(i).data().clone();
                    float[] p = start[i].clone(), m = new float[sizes[i]], v = new float[sizes[i]];
                    if (i != 3) {
                        for (int step = 1; step <= 2; step++) {
                            float decay = 1f - 1e-2f * 0.01f;
                            dev.toygpt.kernels.AdamStep.update(p, grads[i], m, v, 0.9f, 0.999f, 1e-8f,
                                    (float) (1e-2f / (1 - Math.pow(0.9f, step))), (float) Math.sqrt(1 - Math.pow(0.999f, step)), decay, 0f);
                        }
                    }
                    assertArrayEquals(p, now[i], "parameter " + i + " (" + sizes[i] + " elements), " + threads + " thread(s)");
                }
                if (results != null) {
                    for (int i = 0; i < sizes.length; i++) assertArrayEquals(results[i], now[i], "1 and 2 threads differ");
                }
                results = now;
            }
        } finally {
            dev.toygpt.kernels.Parallel.setThreads(saved);
        }
    }

    @Test
    void adamStateRoundTripsForCheckpoints() {
        Tensor a = param(new float[]{1f, 2f}, new float[]{0.1f, -0.1f});
        Adam first = Adam.adamW(List.of(a), 1e-3f);
        first.step();
        Map<String, float[]> state = first.state();
        Tensor b = param(new float[]{1f, 2f}, new float[]{0.1f, -0.1f});
        Adam second = Adam.adamW(List.of(b), 1e-3f);
        second.loadState(state, first.steps());
        assertEquals(1, second.steps());
        assertThrows(IllegalArgumentException.class, () -> second.loadState(Map.of(), 1));
    }

    @Test
    void learningRateMustBePositive() {
        Tensor p = param(new float[]{1f}, new float[]{1f});
        assertThrows(IllegalArgumentException.class, () -> new Sgd(List.of(p), 0f));
        assertThrows(IllegalArgumentException.class, () -> Adam.adamW(List.of(p), -1f));
    }

    @Test
    void clippingScalesAllGradientsToTheMaximumNorm() {
        Tensor a = param(new float[]{0f, 0f}, new float[]{3f, 0f});
        Tensor b = param(new float[]{0f}, new float[]{4f});
        double norm = GradClip.clipGradNorm(List.of(a, b), 1.0);
        assertEquals(5.0, norm, 1e-6);
        double coef = 1.0 / (5.0 + 1e-6);
        assertEquals(3 * coef, a.grad()[0], 1e-6);
        assertEquals(4 * coef, b.grad()[0], 1e-6);
        // below the maximum nothing changes
        Tensor c = param(new float[]{0f}, new float[]{0.5f});
        GradClip.clipGradNorm(List.of(c), 1.0);
        assertEquals(0.5f, c.grad()[0]);
    }

    @Test
    void clippingIgnoresParametersWithoutGradient() {
        Tensor none = Tensor.parameter(new float[]{1f}, 1);
        assertEquals(0.0, GradClip.clipGradNorm(List.of(none), 1.0));
        assertNull(none.grad());
    }

    @Test
    void warmupThenCosineDecay() {
        LearningRateSchedule s = LearningRateSchedule.warmupCosine(1.0f, 10, 110, 0.1f);
        assertEquals(1.0 / 11, s.at(0), 1e-6);                 // linear warm-up
        assertEquals(10.0 / 11, s.at(9), 1e-6);
        assertEquals(1.0, s.at(10), 1e-6);                     // peak
        assertEquals(0.55, s.at(60), 1e-6);                    // half-way: (max + min) / 2
        assertEquals(0.1, s.at(110), 1e-6);                    // floor after the decay
        assertEquals(0.1, s.at(5000), 1e-6);
        for (int i = 11; i < 110; i++) assertTrue(s.at(i) <= s.at(i - 1));
        assertEquals(0.3f, LearningRateSchedule.constant(0.3f).at(123));
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.warmupCosine(1f, 20, 10, 0f));
    }
}
