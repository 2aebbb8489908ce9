package dev.toygpt.autograd;

import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.optim.Adam;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.toygpt.autograd.GradChecker.param;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BufferPoolTest {
    /** Losses of a few AdamW steps of a small GPT with dropout, then its weights. */
    private static List<float[]> train(BufferPool pool, int steps) {
        LanguageModel model = LanguageModel.create(ModelConfig.gpt(13, 32, 2, 2, 12, 0.2f), new Rng(3));
        model.train(true);
        Adam adam = Adam.adamW(model.parameters(), 1e-2f);
        Rng data = new Rng(4);
        List<float[]> out = new ArrayList<>();
        float[] losses = new float[steps];
        for (int s = 0; s < steps; s++) {
            int[] idx = new int[3 * 12], targets = new int[3 * 12];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = (int) (data.nextFloat() * 13);
                targets[i] = (int) (data.nextFloat() * 13);
            }
            Tensor loss;
            try (var lent = pool == null ? null : pool.lend()) {
                loss = model.loss(model.forward(idx, 3, 12), targets);
                adam.zeroGrad();
                loss.backward();
            }
            adam.step();
            losses[s] = loss.item();
        }
        out.add(losses);
        for (Tensor p : model.parameters()) out.add(p.data().clone());
        return out;
    }

    @Test
    void stepsWithThePoolComputeExactlyWhatStepsWithoutItDo() {
        List<float[]> plain = train(null, 4), pooled = train(new BufferPool(), 4);
        assertEquals(plain.size(), pooled.size());
        for (int i = 0; i < plain.size(); i++) assertArrayEquals(plain.get(i), pooled.get(i), "array " + i);
    }

    @Test
    void onceStepsRepeatThePoolCreatesNoMoreArrays() {
        BufferPool pool = new BufferPool();
        train(pool, 2);
        long afterTwo = pool.arraysCreated();
        assertTrue(afterTwo > 0, "the pool lent nothing");
        // a new model of the same shape: its steps take every array from the pool
        train(pool, 5);
        assertEquals(afterTwo, pool.arraysCreated());
    }

    @Test
    void parameterGradientsAreReusedByTheNextPooledStepOnly() {
        Rng rng = new Rng(9);
        Tensor x = param(rng, 8, 300), w = param(rng, 300, 300);
        BufferPool pool = new BufferPool();
        float[] first;
        try (var lent = pool.lend()) {
            F.sum(F.linear(x, w, null)).backward();
        }
        first = w.grad();
        float[] expected = first.clone();
        w.zeroGrad();
        try (var lent = pool.lend()) {
            F.sum(F.linear(x, w, null)).backward();
        }
        assertTrue(first == w.grad(), "a training step reuses the parameter's gradient array");
        assertArrayEquals(expected, w.grad(), "and starts it from zero");
        // outside a training step, a gradient someone may still hold is never overwritten
        float[] held = w.grad();
        w.zeroGrad();
        F.sum(F.linear(x, w, null)).backward();
        assertTrue(held != w.grad());
    }

    @Test
    void aTensorSharingAnotherOnesArrayDoesNotGiveItBack() {
        Rng rng = new Rng(8);
        Tensor x = param(rng, 4, 300), w = param(rng, 300, 300), r = param(rng, 2, 600);
        float[][] expected = null;
        for (BufferPool pool : new BufferPool[]{null, new BufferPool()}) {
            x.zeroGrad();
            w.zeroGrad();
            try (var lent = pool == null ? null : pool.lend()) {
                Tensor h = F.linear(x, w, null);                  // (4, 300), owns its array
                Tensor flat = F.reshape(h, 2, 600);               // shares h's array
                Tensor loss = F.sum(F.add(F.mul(F.softmax(flat), r), F.reshape(F.mul(h, h), 2, 600)));
                loss.backward();
            }
            float[][] got = {x.grad().clone(), w.grad().clone()};
            if (expected == null) expected = got;
            else for (int i = 0; i < 2; i++) assertArrayEquals(expected[i], got[i]);
        }
    }

    @Test
    void onePoolLendsToOneScopeAtATime() {
        BufferPool pool = new BufferPool();
        try (var lent = pool.lend()) {
            assertThrows(IllegalStateException.class, () -> new BufferPool().lend());
        }
        try (var again = pool.lend()) {
            assertTrue(BufferPool.floats(1000).length == 1000);
        }
    }
}
