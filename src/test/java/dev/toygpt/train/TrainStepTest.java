package dev.toygpt.train;

import dev.toygpt.autograd.Tensor;
import dev.toygpt.kernels.Parallel;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.optim.Adam;
import dev.toygpt.text.Batch;
import dev.toygpt.text.Batches;
import dev.toygpt.text.Corpus;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Micro-batches: the same gradient as the whole batch, and the same numbers at every thread count. */
class TrainStepTest {
    private static final int THREADS = Parallel.threads();
    private static final Corpus CORPUS = TinyRuns.corpus();
    private static final int BATCH = 8;

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(THREADS);
    }

    private static ModelConfig config(float dropout) {
        return ModelConfig.gpt(CORPUS.vocabulary().size(), 16, 2, 2, 8, dropout);
    }

    private static Batch batch(long seed) {
        return new Batches(CORPUS.split(0.9).train(), 8, BATCH).next(new Rng(seed));
    }

    private static List<float[]> gradients(LanguageModel model) {
        List<float[]> out = new ArrayList<>();
        for (Tensor p : model.parameters()) out.add(p.grad().clone());
        return out;
    }

    @Test
    void microBatchesGiveTheWholeBatchsLossAndGradient() {
        for (int parts : new int[]{2, 4}) {
            LanguageModel whole = LanguageModel.create(config(0f), new Rng(7)), cut = LanguageModel.create(config(0f), new Rng(7));
            whole.train(true);
            cut.train(true);
            Batch b = batch(3);
            float wholeLoss = new TrainStep(whole, 1).forwardBackward(b);
            float cutLoss = new TrainStep(cut, parts).forwardBackward(b);
            assertEquals(wholeLoss, cutLoss, 1e-5f * Math.abs(wholeLoss), parts + " parts");
            List<float[]> g = gradients(whole), h = gradients(cut);
            boolean someDiffer = false;
            for (int i = 0; i < g.size(); i++) {
                float[] a = g.get(i), c = h.get(i);
                float scale = 0;
                for (float v : a) scale = Math.max(scale, Math.abs(v));
                for (int k = 0; k < a.length; k++) {
                    assertEquals(a[k], c[k], 1e-5f * scale + 1e-9f, "parameter " + i + " element " + k + ", " + parts + " parts");
                    someDiffer |= a[k] != c[k];
                }
            }
            // sums taken in another order: if every float matched, the parts would not have been taken apart at all
            assertTrue(someDiffer, "the micro-batch gradient is the whole batch's, bit for bit: were the parts really separate?");
        }
    }

    /** Trains a few AdamW steps with dropout on; returns the losses, then the weights are left in the model. */
    private static float[] train(LanguageModel model, int parts, int steps) {
        model.train(true);
        model.dropoutRng().setState(99);
        Adam adam = Adam.adamW(model.parameters(), 3e-3f);
        TrainStep step = new TrainStep(model, parts);
        step.spareTheJit = false; // in a test JVM the JIT is always busy: side by side from the first step
        Batches batches = new Batches(CORPUS.split(0.9).train(), 8, BATCH);
        Rng rng = new Rng(5);
        float[] losses = new float[steps];
        for (int s = 0; s < steps; s++) {
            losses[s] = step.forwardBackward(batches.next(rng));
            adam.step();
        }
        assertEquals(Parallel.threads() == parts ? steps : 0, step.sideBySideSteps(), Parallel.threads() + " threads");
        return losses;
    }

    @Test
    void theNumbersDoNotDependOnTheThreadCount() {
        float[][] losses = new float[3][];
        LanguageModel[] models = new LanguageModel[3];
        int[] threads = {1, 2, 3};
        for (int i = 0; i < threads.length; i++) {
            Parallel.setThreads(threads[i]); // 2: the parts side by side; 1 and 3: one after the other
            models[i] = LanguageModel.create(config(0.2f), new Rng(11));
            losses[i] = train(models[i], 2, 12);
        }
        for (int i = 1; i < threads.length; i++) {
            assertArrayEquals(losses[0], losses[i], threads[i] + " threads");
            ResumeTest.assertSameWeights(models[0], models[i]);
            assertEquals(models[0].dropoutRng().state(), models[i].dropoutRng().state());
        }
    }

    @Test
    void eachPartDrawsItsOwnDropoutMasks() {
        // A batch of two equal halves, cut in two: had part 1 drawn part 0's masks, the mean loss would be part 0's loss
        // exactly. Part 0 draws from the model's generator after the seed for part 1 has been taken from it.
        Batch b = batch(4);
        int n = b.inputs().length / 2;
        int[] in = b.inputs().clone(), tg = b.targets().clone();
        System.arraycopy(in, 0, in, n, n);
        System.arraycopy(tg, 0, tg, n, n);
        LanguageModel model = LanguageModel.create(config(0.5f), new Rng(11));
        model.train(true);
        model.dropoutRng().setState(1);
        float mean = new TrainStep(model, 2).forwardBackward(new Batch(in, tg, BATCH, 8));

        LanguageModel alone = LanguageModel.create(config(0.5f), new Rng(11));
        alone.train(true);
        alone.dropoutRng().setState(1);
        alone.dropoutRng().nextLong();
        int[] firstIn = java.util.Arrays.copyOf(in, n), firstTg = java.util.Arrays.copyOf(tg, n);
        float part0 = new TrainStep(alone, 1).forwardBackward(new Batch(firstIn, firstTg, BATCH / 2, 8));
        assertNotEquals(part0, mean, "part 1 repeated part 0's dropout masks");

        // and without dropout the two equal halves do give part 0's loss: the test above can tell the two apart
        LanguageModel plain = LanguageModel.create(config(0f), new Rng(11)), plainAlone = LanguageModel.create(config(0f), new Rng(11));
        plain.train(true);
        plainAlone.train(true);
        assertEquals(new TrainStep(plainAlone, 1).forwardBackward(new Batch(firstIn, firstTg, BATCH / 2, 8)),
                new TrainStep(plain, 2).forwardBackward(new Batch(in, tg, BATCH, 8)));
    }

    @Test
    void whileTheJitCompilesThePartsGoOneAfterTheOther() {
        Parallel.setThreads(2);
        LanguageModel model = LanguageModel.create(config(0f), new Rng(11));
        model.train(true);
        TrainStep step = new TrainStep(model, 2);
        step.forwardBackward(batch(1)); // the first step has no earlier compilation time to compare with
        assertEquals(0, step.sideBySideSteps());
    }

    @Test
    void aBatchThePartsDoNotDivideIsRefused() {
        LanguageModel model = LanguageModel.create(config(0f), new Rng(1));
        var e = assertThrows(IllegalArgumentException.class, () -> new TrainStep(model, 3).forwardBackward(batch(1)));
        assertTrue(e.getMessage().contains("cannot be cut into 3 equal parts"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new TrainStep(model, 0));
    }
}
