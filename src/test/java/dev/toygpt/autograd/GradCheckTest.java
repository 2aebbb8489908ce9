package dev.toygpt.autograd;

import dev.toygpt.kernels.MatMul;
import dev.toygpt.kernels.Parallel;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static dev.toygpt.autograd.GradChecker.param;
import static dev.toygpt.autograd.GradChecker.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Finite-difference gradient checks for every operation in {@link F}, plus graph bookkeeping in
 * {@link Tensor#backward()}, {@link GradMode}, and thread-count independence of the kernels.
 *
 * <p>Tolerances (see {@link GradChecker}): central differences with a step of 1e-2 on float32 inputs, loss
 * projected in double; an element passes when |analytic - numeric| <= 1e-3 + 1e-2 * max(|analytic|, |numeric|).
 */
class GradCheckTest {
    private final GradChecker checker = new GradChecker();

    // ---------------------------------------------------------------- the checker itself

    /** y = x², with a backward that multiplies by {@code factor * x} and adds {@code offset} at element 3. */
    private static Tensor square(Tensor x, float factor, float offset) {
        float[] in = x.data();
        float[] y = new float[in.length];
        for (int i = 0; i < y.length; i++) y[i] = in[i] * in[i];
        return Tensor.result(y, x.shape(), new Tensor[]{x}, d -> {
            float[] dx = x.gradForUpdate();
            for (int i = 0; i < d.length; i++) dx[i] += d[i] * factor * in[i] + (i == 3 ? offset : 0f);
        });
    }

    @Test
    void checkerAcceptsCorrectAndRejectsWrongGradients() {
        Rng rng = new Rng(1);
        Tensor x = param(rng, 4, 5);
        assertTrue(checker.check(() -> square(x, 2f, 0f), x).passed(), "a correct gradient must pass");
        // a 3% scale error everywhere
        assertFalse(checker.check(() -> square(x, 1.94f, 0f), x).passed(), "scaled gradient must fail");
        // a single element off by 0.02
        assertFalse(checker.check(() -> square(x, 2f, 0.02f), x).passed(), "one wrong element must fail");
        // an op that drops its gradient entirely
        assertFalse(checker.check(() -> square(x, 0f, 0f), x).passed(), "missing gradient must fail");

        // a real op with two gradient entries swapped, or one entry perturbed by 2%
        Tensor a = param(rng, 3, 4), b = param(rng, 4, 2);
        assertTrue(checker.check(() -> F.matmul(a, b), a, b).passed());
        var swapped = checker.check(() -> F.matmul(a, b), (i, g) -> {
            if (i == 0) {
                float t = g[0];
                g[0] = g[5];
                g[5] = t;
            }
        }, a, b);
        assertFalse(swapped.passed(), "swapped gradient entries must fail");
        var nudged = checker.check(() -> F.matmul(a, b), (i, g) -> {
            if (i == 1) g[2] *= 1.02f + 0.02f / Math.max(1e-3f, Math.abs(g[2]));
        }, a, b);
        assertFalse(nudged.passed(), "a gradient entry off by ~2% plus 0.02 must fail");
    }

    // ---------------------------------------------------------------- every op in F

    @Test
    void embedding() {
        Rng rng = new Rng(2);
        Tensor w = param(rng, 7, 5);
        int[] ids = {3, 0, 6, 3, 3, 1}; // repeated ids must accumulate
        checker.assertGradients("embedding", () -> F.embedding(w, ids, 2, 3), w);
        assertArrayEquals(new int[]{2, 3, 5}, F.embedding(w, ids, 2, 3).shape());
    }

    @Test
    void linearWithBias() {
        Rng rng = new Rng(3);
        Tensor x = param(rng, 2, 3, 4), w = param(rng, 5, 4), b = param(rng, 5);
        checker.assertGradients("linear with bias", () -> F.linear(x, w, b), x, w, b);
        assertArrayEquals(new int[]{2, 3, 5}, F.linear(x, w, b).shape());
        // values: y = x Wᵀ + b, at sizes that whole SIMD tiles cover (W packed directly) and ragged ones
        for (int rows : new int[]{37, 40}) {
            for (int out : new int[]{5, 64, 65, 128, 130}) {
                Tensor xs = param(rng, rows, 40), ws = param(rng, out, 40), bs = param(rng, out);
                float[] y = F.linear(xs, ws, bs).data();
                for (int i = 0; i < rows; i++) {
                    for (int j = 0; j < out; j++) {
                        double ref = bs.data()[j];
                        for (int p = 0; p < 40; p++) ref += (double) xs.data()[i * 40 + p] * ws.data()[j * 40 + p];
                        assertEquals(ref, y[i * out + j], 1e-4, rows + " x " + out + " (" + i + ", " + j + ")");
                    }
                }
            }
        }
    }

    @Test
    void linearRelu() {
        Rng rng = new Rng(30);
        Tensor x = param(rng, 2, 3, 4), w = param(rng, 5, 4), b = param(rng, 5);
        checker.assertGradients("linear + relu", () -> F.linearRelu(x, w, b), x, w, b);
        // the same values and gradients as the two operations one after the other
        Tensor r = param(rng, 2, 3, 5);
        F.sum(F.mul(F.linearRelu(x, w, b), r)).backward();
        float[][] fused = {x.grad().clone(), w.grad().clone(), b.grad().clone()};
        x.zeroGrad();
        w.zeroGrad();
        b.zeroGrad();
        F.sum(F.mul(F.relu(F.linear(x, w, b)), r)).backward();
        assertArrayEquals(F.relu(F.linear(x, w, b)).data(), F.linearRelu(x, w, b).data());
        assertArrayEquals(x.grad(), fused[0]);
        assertArrayEquals(w.grad(), fused[1]);
        assertArrayEquals(b.grad(), fused[2]);
    }

    @Test
    void linearWithoutBias() {
        Rng rng = new Rng(4);
        Tensor x = param(rng, 6, 4), w = param(rng, 3, 4);
        checker.assertGradients("linear without bias", () -> F.linear(x, w, null), x, w);
    }

    @Test
    void linearWithConstantInput() {
        Rng rng = new Rng(5);
        Tensor x = Tensor.of(randn(rng, 12, 1, 0), 3, 4);
        Tensor w = param(rng, 3, 4), b = param(rng, 3);
        checker.assertGradients("linear, constant input", () -> F.linear(x, w, b), w, b);
        assertNull(x.grad());
    }

    @Test
    void matmul() {
        Rng rng = new Rng(6);
        Tensor a = param(rng, 4, 6), b = param(rng, 6, 5);
        checker.assertGradients("matmul", () -> F.matmul(a, b), a, b);
        Tensor c = Tensor.of(randn(rng, 20, 1, 0), 5, 4);
        checker.assertGradients("matmul, constant right", () -> F.matmul(a, F.matmul(b, c)), a, b);
    }

    @Test
    void addSameShape() {
        Rng rng = new Rng(7);
        Tensor a = param(rng, 3, 4), b = param(rng, 3, 4);
        checker.assertGradients("add", () -> F.add(a, b), a, b);
    }

    @Test
    void addBroadcastSuffix() {
        Rng rng = new Rng(8);
        Tensor a = param(rng, 2, 3, 4), b1 = param(rng, 4), b2 = param(rng, 3, 4);
        checker.assertGradients("add broadcast [4]", () -> F.add(a, b1), a, b1);
        checker.assertGradients("add broadcast [3,4]", () -> F.add(a, b2), a, b2);
    }

    @Test
    void mul() {
        Rng rng = new Rng(9);
        Tensor a = param(rng, 3, 5), b = param(rng, 3, 5);
        checker.assertGradients("mul", () -> F.mul(a, b), a, b);
        checker.assertGradients("mul(x, x)", () -> F.mul(a, a), a);
    }

    @Test
    void sum() {
        Rng rng = new Rng(10);
        Tensor x = param(rng, 3, 4);
        checker.assertGradients("sum", () -> F.sum(x), x);
        checker.assertGradients("sum of squares", () -> F.sum(F.mul(x, x)), x);
    }

    @Test
    void relu() {
        Rng rng = new Rng(11);
        // keep every input at least 5 steps away from the kink at 0
        Tensor x = Tensor.parameter(randn(rng, 40, 1, 0.05), 5, 8);
        checker.assertGradients("relu", () -> F.relu(x), x);
    }

    @Test
    void leakyRelu() {
        Rng rng = new Rng(12);
        Tensor x = Tensor.parameter(randn(rng, 40, 1, 0.05), 5, 8);
        checker.assertGradients("leakyRelu(0.01)", () -> F.leakyRelu(x, 0.01f), x);
        // on the negative side the gradients (0.01 * R) sit near the 1e-3 absolute floor, so check the slope
        // sharply too: scale the upstream gradient by 1000 through a constant multiplier
        Tensor big = Tensor.of(filled(40, 1000f), 5, 8);
        checker.assertGradients("leakyRelu(0.01) x 1000", () -> F.mul(F.leakyRelu(x, 0.01f), big), x);
    }

    @Test
    void layerNorm() {
        Rng rng = new Rng(13);
        Tensor x = param(rng, 2, 3, 8);
        float[] wData = randn(rng, 8, 0.5, 0);
        for (int i = 0; i < wData.length; i++) wData[i] += 1f;
        Tensor w = Tensor.parameter(wData, 8), b = param(rng, 8);
        checker.assertGradients("layerNorm", () -> F.layerNorm(x, w, b, 1e-5f), x, w, b);
    }

    @Test
    void dropout() {
        Rng rng = new Rng(14);
        Tensor x = param(rng, 4, 10);
        float p = 0.3f;
        checker.assertGradients("dropout", () -> F.dropout(x, p, new Rng(99)), x);
        // the mask really drops something and scales the rest by 1/(1-p)
        float[] y = F.dropout(x, p, new Rng(99)).data();
        int zeros = 0;
        for (int i = 0; i < y.length; i++) {
            if (y[i] == 0f) zeros++;
            else assertEquals(x.data()[i] / (1f - p), y[i], 1e-6f);
        }
        assertTrue(zeros > 0 && zeros < y.length, "zeros: " + zeros);
        checker.assertGradients("dropout p=0", () -> F.dropout(x, 0f, new Rng(99)), x);
    }

    @ParameterizedTest(name = "heads={0}, dropout={1}")
    @CsvSource({"1, 0", "2, 0", "4, 0", "1, 0.25", "2, 0.25", "4, 0.25"})
    void causalSelfAttention(int heads, float dropout) {
        Rng rng = new Rng(15 + heads);
        int b = 2, t = 5, c = 8;
        Tensor q = param(rng, b, t, c), k = param(rng, b, t, c), v = param(rng, b, t, c);
        checker.assertGradients("attention heads=" + heads + " dropout=" + dropout,
                () -> F.causalSelfAttention(q, k, v, heads, dropout, new Rng(77)), q, k, v);
    }

    /** Shapes with whole SIMD vectors per head (16, 32 channels), a ragged head (24), and keys past one vector. */
    @ParameterizedTest(name = "t={0}, c={1}, heads={2}, dropout={3}")
    @CsvSource({"37, 64, 4, 0", "37, 64, 2, 0.25", "20, 48, 2, 0", "33, 32, 1, 0.25"})
    void causalSelfAttentionWideHeads(int t, int c, int heads, float dropout) {
        Rng rng = new Rng(31 + t + heads);
        Tensor q = param(rng, 1, t, c), k = param(rng, 1, t, c), v = param(rng, 1, t, c);
        checker.assertGradients("attention t=" + t + " c=" + c + " heads=" + heads + " dropout=" + dropout,
                () -> F.causalSelfAttention(q, k, v, heads, dropout, new Rng(78)), q, k, v);
    }

    /** Without gradients the (B, H, T, T) weights are not kept; the outputs must not change. */
    @ParameterizedTest(name = "t={0}, c={1}, heads={2}")
    @CsvSource({"5, 8, 2", "37, 64, 4", "20, 48, 2"})
    void causalSelfAttentionWithoutGradientsGivesTheSameOutputs(int t, int c, int heads) {
        Rng rng = new Rng(40 + t);
        Tensor q = param(rng, 3, t, c), k = param(rng, 3, t, c), v = param(rng, 3, t, c);
        float[] kept = F.causalSelfAttention(q, k, v, heads, 0f, null).data();
        float[] notKept;
        try (var off = GradMode.off()) {
            Tensor out = F.causalSelfAttention(q, k, v, heads, 0f, null);
            assertFalse(out.requiresGrad());
            notKept = out.data();
        }
        assertArrayEquals(kept, notKept);
    }

    @ParameterizedTest(name = "heads={0}, dropout={1}")
    @CsvSource({"1, 0", "2, 0", "4, 0.25"})
    void causalSelfAttentionIsCausal(int heads, float dropout) {
        Rng rng = new Rng(25);
        int b = 2, t = 6, c = 8;
        Tensor q = param(rng, b, t, c), k = param(rng, b, t, c), v = param(rng, b, t, c);
        float[] base = F.causalSelfAttention(q, k, v, heads, dropout, new Rng(5)).data().clone();
        for (int s = 0; s < t; s++) {
            for (Tensor kv : new Tensor[]{k, v}) {
                float[] saved = kv.data().clone();
                for (int bb = 0; bb < b; bb++) {
                    for (int j = 0; j < c; j++) kv.data()[(bb * t + s) * c + j] += 3f;
                }
                float[] out = F.causalSelfAttention(q, k, v, heads, dropout, new Rng(5)).data();
                System.arraycopy(saved, 0, kv.data(), 0, saved.length);
                for (int bb = 0; bb < b; bb++) {
                    for (int tt = 0; tt < t; tt++) {
                        float[] before = Arrays.copyOfRange(base, (bb * t + tt) * c, (bb * t + tt + 1) * c);
                        float[] after = Arrays.copyOfRange(out, (bb * t + tt) * c, (bb * t + tt + 1) * c);
                        if (tt < s) {
                            assertArrayEquals(before, after, "position " + tt + " saw a change at " + s);
                        } else if (tt == s && dropout == 0f && (kv == v || s > 0)) {
                            // changing v_s (or k_s when there is more than one key) does change output s
                            assertFalse(Arrays.equals(before, after), "position " + tt + " ignored a change at " + s);
                        }
                    }
                }
            }
        }
        // the same seen through gradients: a loss on output position t0 sends nothing to k, v after t0
        int t0 = 2;
        q.zeroGrad();
        k.zeroGrad();
        v.zeroGrad();
        Tensor out = F.causalSelfAttention(q, k, v, heads, dropout, new Rng(5));
        float[] sel = new float[out.size()];
        for (int bb = 0; bb < b; bb++) {
            for (int j = 0; j < c; j++) sel[(bb * t + t0) * c + j] = 1f + j;
        }
        F.sum(F.mul(out, Tensor.of(sel, out.shape()))).backward();
        for (int bb = 0; bb < b; bb++) {
            for (int s = 0; s < t; s++) {
                for (int j = 0; j < c; j++) {
                    int idx = (bb * t + s) * c + j;
                    if (s > t0) {
                        assertEquals(0f, k.grad()[idx], "dk at " + s);
                        assertEquals(0f, v.grad()[idx], "dv at " + s);
                    }
                    if (s != t0) assertEquals(0f, q.grad()[idx], "dq at " + s);
                }
            }
        }
    }

    @ParameterizedTest(name = "t={0}, c={1}")
    @CsvSource({"5, 8", "37, 64", "20, 48"})
    void causalSelfAttentionMatchesDoubleReference(int t, int c) {
        Rng rng = new Rng(26);
        int b = 2;
        float[] q = randn(rng, b * t * c, 1, 0), k = randn(rng, b * t * c, 1, 0), v = randn(rng, b * t * c, 1, 0);
        for (int heads : new int[]{1, 2, 4}) {
            float[] out = F.causalSelfAttention(Tensor.of(q, b, t, c), Tensor.of(k, b, t, c),
                    Tensor.of(v, b, t, c), heads, 0f, null).data();
            int hs = c / heads;
            for (int bb = 0; bb < b; bb++) {
                for (int h = 0; h < heads; h++) {
                    for (int tt = 0; tt < t; tt++) {
                        double[] w = new double[tt + 1];
                        double max = Double.NEGATIVE_INFINITY, z = 0;
                        for (int s = 0; s <= tt; s++) {
                            double dot = 0;
                            for (int d = 0; d < hs; d++) {
                                dot += (double) q[(bb * t + tt) * c + h * hs + d] * k[(bb * t + s) * c + h * hs + d];
                            }
                            w[s] = dot / Math.sqrt(hs);
                            max = Math.max(max, w[s]);
                        }
                        for (int s = 0; s <= tt; s++) z += w[s] = Math.exp(w[s] - max);
                        for (int d = 0; d < hs; d++) {
                            double o = 0;
                            for (int s = 0; s <= tt; s++) o += w[s] / z * v[(bb * t + s) * c + h * hs + d];
                            assertEquals(o, out[(bb * t + tt) * c + h * hs + d], 1e-5, "heads=" + heads);
                        }
                    }
                }
            }
        }
    }

    @Test
    void softmax() {
        Rng rng = new Rng(27);
        Tensor x = param(rng, 3, 6);
        checker.assertGradients("softmax", () -> F.softmax(x), x);
        // rows sum to one
        float[] y = F.softmax(x).data();
        for (int r = 0; r < 3; r++) {
            double s = 0;
            for (int j = 0; j < 6; j++) s += y[r * 6 + j];
            assertEquals(1.0, s, 1e-6);
        }
    }

    @Test
    void concat() {
        Rng rng = new Rng(28);
        Tensor a = param(rng, 2, 3, 2), b = param(rng, 2, 3, 4), c = param(rng, 2, 3, 1);
        checker.assertGradients("concat", () -> F.concat(a, b, c), a, b, c);
        checker.assertGradients("concat(a, b, a)", () -> F.concat(a, b, a), a, b);
        assertArrayEquals(new int[]{2, 3, 7}, F.concat(a, b, c).shape());
    }

    @Test
    void reshape() {
        Rng rng = new Rng(29);
        Tensor x = param(rng, 2, 3, 4);
        Tensor w = param(rng, 3, 4);
        checker.assertGradients("reshape", () -> F.reshape(x, 6, 4), x);
        checker.assertGradients("reshape then linear", () -> F.reshape(F.linear(F.reshape(x, 6, 4), w, null), 2, 9), x, w);
    }

    @Test
    void crossEntropy() {
        Rng rng = new Rng(30);
        Tensor logits = param(rng, 2, 3, 7);
        int[] targets = {0, 6, 3, 3, 1, 5};
        checker.assertGradients("crossEntropy", () -> F.crossEntropy(logits, targets), logits);
        // value against a double reference
        float[] l = logits.data();
        double ref = 0;
        for (int r = 0; r < 6; r++) {
            double max = Double.NEGATIVE_INFINITY, z = 0;
            for (int j = 0; j < 7; j++) max = Math.max(max, l[r * 7 + j]);
            for (int j = 0; j < 7; j++) z += Math.exp(l[r * 7 + j] - max);
            ref += Math.log(z) + max - l[r * 7 + targets[r]];
        }
        assertEquals(ref / 6, F.crossEntropy(logits, targets).item(), 1e-5);
    }

    @Test
    void crossEntropyAsTheLossItself() {
        // backward straight from the op's own scalar (no projection): d mean CE / d logits = (softmax - onehot) / rows
        Rng rng = new Rng(31);
        Tensor logits = param(rng, 4, 5);
        int[] targets = {1, 4, 0, 1};
        F.crossEntropy(logits, targets).backward();
        float[] p = F.softmax(Tensor.of(logits.data(), 4, 5)).data();
        for (int r = 0; r < 4; r++) {
            for (int j = 0; j < 5; j++) {
                double expect = (p[r * 5 + j] - (targets[r] == j ? 1 : 0)) / 4.0;
                assertEquals(expect, logits.grad()[r * 5 + j], 1e-6);
            }
        }
    }

    @Test
    void smallTransformerBlockEndToEnd() {
        // embedding -> layerNorm -> q/k/v projections -> attention -> residual -> MLP -> crossEntropy
        Rng rng = new Rng(32);
        int vocab = 6, b = 2, t = 4, c = 8;
        // weights at a realistic scale (~1/sqrt(fan_in)) keep activations O(1) and float32 noise small
        Tensor emb = param(rng, vocab, c), lnW = scaled(rng, 0.3, 1, c), lnB = scaled(rng, 0.3, 0, c);
        Tensor wq = scaled(rng, 0.35, 0, c, c), wk = scaled(rng, 0.35, 0, c, c), wv = scaled(rng, 0.35, 0, c, c);
        Tensor w1 = scaled(rng, 0.35, 0, 2 * c, c), b1 = scaled(rng, 0.1, 0, 2 * c), head = scaled(rng, 0.25, 0, vocab, 2 * c);
        int[] ids = {0, 3, 2, 5, 1, 1, 4, 0};
        int[] targets = {3, 2, 5, 1, 1, 4, 0, 2};
        Supplier<Tensor> forward = () -> {
            Tensor x = F.embedding(emb, ids, b, t);
            Tensor h = F.layerNorm(x, lnW, lnB, 1e-5f);
            Tensor att = F.causalSelfAttention(F.linear(h, wq, null), F.linear(h, wk, null), F.linear(h, wv, null),
                    2, 0.1f, new Rng(3));
            Tensor res = F.add(x, att);
            Tensor mlp = F.leakyRelu(F.linear(res, w1, b1), 0.01f);
            return F.crossEntropy(F.linear(mlp, head, null), targets);
        };
        checker.withEps(1e-3).assertGradients("transformer block", forward, emb, lnW, lnB, wq, wk, wv, w1, b1, head);
    }

    // ---------------------------------------------------------------- graph bookkeeping

    @Test
    void backwardAddsGradientsOfATensorUsedTwice() {
        Rng rng = new Rng(40);
        Tensor x = param(rng, 3, 4), w = param(rng, 4, 4);
        // x feeds two branches that meet again (a diamond), and a third direct use
        Supplier<Tensor> forward = () -> {
            Tensor a = F.matmul(x, w);
            Tensor branch1 = F.relu(a);
            Tensor branch2 = F.mul(a, x);
            return F.add(F.add(branch1, branch2), x);
        };
        checker.assertGradients("diamond graph", forward, x, w);

        // exact: L = sum(x * y) + sum(x) with y constant  =>  dL/dx = y + 1
        float[] y = randn(rng, 12, 1, 0);
        x.zeroGrad();
        Tensor loss = F.add(F.sum(F.mul(x, Tensor.of(y, 3, 4))), F.sum(x));
        loss.backward();
        for (int i = 0; i < 12; i++) assertEquals(y[i] + 1f, x.grad()[i], 1e-6f);

        // same tensor as both operands: d sum(x + x) / dx = 2
        x.zeroGrad();
        F.sum(F.add(x, x)).backward();
        for (int i = 0; i < 12; i++) assertEquals(2f, x.grad()[i]);

        // a leaf's gradient accumulates over separate backward passes until zeroGrad
        F.sum(x).backward();
        for (int i = 0; i < 12; i++) assertEquals(3f, x.grad()[i]);
    }

    @Test
    void gradientsArrivingFromSeveralUsesInEitherOrder() {
        // The first gradient to reach an intermediate result is written into a fresh array, or taken over
        // whole from an addition, a reshape or the loss; the ones after it are added. Uses in both orders.
        Rng rng = new Rng(42);
        Tensor x = param(rng, 6, 4), w = scaled(rng, 0.5, 0, 4, 4), b = scaled(rng, 0.5, 0, 4), w2 = scaled(rng, 0.5, 0, 4, 4);
        int[] targets = {0, 3, 1, 1, 2, 0};
        checker.assertGradients("several uses", () -> {
            Tensor h = F.linear(x, w, b);
            Tensor r = F.linearRelu(h, w2, b);                // the bias used twice
            Tensor s = F.add(h, r), u = F.add(r, h);          // h first, then second operand
            Tensor v = F.add(F.reshape(s, 2, 3, 4), F.reshape(u, 2, 3, 4));
            Tensor out = F.add(F.add(v, F.reshape(h, 2, 3, 4)), b); // and b repeated over rows
            return F.add(F.reshape(F.crossEntropy(F.reshape(out, 6, 4), targets), 1, 1), F.reshape(F.sum(F.mul(h, h)), 1, 1));
        }, x, w, b, w2);
        checker.assertGradients("the loss's logits used again", () -> {
            Tensor h = F.linear(x, w, b);
            return F.add(F.sum(F.mul(h, h)), F.crossEntropy(h, targets));
        }, x, w, b);
        // a takes the sum's gradient array; b's backward (ReLU's, in place) must not write into a's gradient
        checker.assertGradients("linear + linearRelu", () -> F.add(F.linear(x, w, null), F.linearRelu(x, w2, b)), x, w, w2, b);
        checker.assertGradients("x + x + x", () -> F.add(F.add(F.linear(x, w, null), F.linear(x, w, null)), F.linear(x, w, null)), x, w);
    }

    @Test
    void gradModeOffRecordsNoGraph() {
        Rng rng = new Rng(41);
        Tensor x = param(rng, 2, 3), w = param(rng, 4, 3), b = param(rng, 4);
        Tensor loss;
        try (var off = GradMode.off()) {
            assertFalse(GradMode.isEnabled());
            try (var nested = GradMode.off()) {
                assertFalse(GradMode.isEnabled());
            }
            assertFalse(GradMode.isEnabled(), "closing a nested scope must not re-enable gradients");
            Tensor y = F.linear(x, w, b);
            assertFalse(y.requiresGrad());
            loss = F.crossEntropy(y, new int[]{1, 2});
            assertFalse(loss.requiresGrad());
            off.close();
            off.close(); // idempotent
            assertTrue(GradMode.isEnabled());
        }
        assertTrue(GradMode.isEnabled());
        Tensor finalLoss = loss;
        assertThrows(IllegalStateException.class, finalLoss::backward);
        assertNull(x.grad());
        assertNull(w.grad());
        assertNull(b.grad());
        // and recording is back on afterwards
        Tensor y = F.linear(x, w, b);
        assertTrue(y.requiresGrad());
        F.sum(y).backward();
        assertNotNull(w.grad());
    }

    // ---------------------------------------------------------------- kernels and threads

    @Test
    void kernelsGiveIdenticalResultsWithOneAndTwoThreads() {
        int saved = Parallel.threads();
        try {
            Rng rng = new Rng(50);
            int n = 256;
            float[] a = randn(rng, n * n, 1, 0), b = randn(rng, n * n, 1, 0);
            int bt = 2, t = 64, c = 64, heads = 4;
            Tensor q = Tensor.parameter(randn(rng, bt * t * c, 1, 0), bt, t, c);
            Tensor k = Tensor.parameter(randn(rng, bt * t * c, 1, 0), bt, t, c);
            Tensor v = Tensor.parameter(randn(rng, bt * t * c, 1, 0), bt, t, c);
            float[] lnX = randn(rng, 512 * 256, 1, 0);

            float[][][] results = new float[2][][];
            for (int run = 0; run < 2; run++) {
                Parallel.setThreads(run + 1);
                assertEquals(run + 1, Parallel.threads());
                float[] c1 = new float[n * n], c2 = new float[n * n], c3 = new float[n * n];
                MatMul.matmul(a, b, c1, n, n, n, false);
                MatMul.matmulTransA(a, b, c2, n, n, n, false);
                MatMul.matmulTransB(a, b, c3, n, n, n, false);
                for (Tensor p : new Tensor[]{q, k, v}) p.zeroGrad();
                Tensor att = F.causalSelfAttention(q, k, v, heads, 0.1f, new Rng(8));
                F.sum(F.mul(att, Tensor.of(Arrays.copyOf(a, bt * t * c), bt, t, c))).backward();
                Tensor lnIn = Tensor.parameter(lnX.clone(), 512, 256), lnW = Tensor.parameter(filled(256, 1.5f), 256),
                        lnB = Tensor.parameter(filled(256, 0.1f), 256);
                Tensor ln = F.layerNorm(lnIn, lnW, lnB, 1e-5f);
                F.sum(F.mul(ln, Tensor.of(Arrays.copyOf(a, 512 * 256), 512, 256))).backward();
                results[run] = new float[][]{c1, c2, c3, att.data(), q.grad().clone(), k.grad().clone(),
                        v.grad().clone(), ln.data(), lnIn.grad(), lnW.grad(), lnB.grad()};
            }
            String[] names = {"matmul", "matmulTransA", "matmulTransB", "attention", "dq", "dk", "dv", "layerNorm",
                    "layerNorm dx", "layerNorm dweight", "layerNorm dbias"};
            for (int i = 0; i < names.length; i++) {
                assertArrayEquals(results[0][i], results[1][i], names[i] + " differs between 1 and 2 threads");
            }
            // and the product is right: spot-check against double precision
            for (int[] ij : new int[][]{{0, 0}, {17, 200}, {255, 255}, {128, 3}}) {
                double s = 0;
                for (int p = 0; p < n; p++) s += (double) a[ij[0] * n + p] * b[p * n + ij[1]];
                assertEquals(s, results[0][0][ij[0] * n + ij[1]], 1e-3);
            }

            // with two threads, a 256-row product really is split into several chunks
            Parallel.setThreads(2);
            AtomicInteger chunks = new AtomicInteger();
            Parallel.forRange(n, 2L * n * n, (start, end) -> chunks.incrementAndGet());
            assertTrue(chunks.get() > 1, "the work was not split: " + chunks.get() + " chunk(s)");
        } finally {
            Parallel.setThreads(saved);
        }
        assertEquals(saved, Parallel.threads());
    }

    /** A parameter with entries mean + N(0, 1) * std. */
    private static Tensor scaled(Rng rng, double std, double mean, int... shape) {
        float[] d = randn(rng, Tensor.sizeOf(shape), std, 0);
        for (int i = 0; i < d.length; i++) d[i] += (float) mean;
        return Tensor.parameter(d, shape);
    }

    private static float[] filled(int n, float value) {
        float[] out = new float[n];
        Arrays.fill(out, value);
        return out;
    }
}
