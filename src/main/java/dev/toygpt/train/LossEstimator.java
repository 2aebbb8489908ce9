package dev.toygpt.train;

import dev.toygpt.autograd.GradMode;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.text.Batch;
import dev.toygpt.text.Batches;
import dev.toygpt.util.Rng;

/** The lecture's estimate_loss: mean loss over random batches, in evaluation mode (no dropout, no gradients). */
public final class LossEstimator {
    private LossEstimator() {}

    public static double estimate(LanguageModel model, Batches batches, int iters, Rng rng) {
        boolean wasTraining = model.isTraining();
        model.train(false);
        try (var noGrad = GradMode.off()) {
            double sum = 0;
            for (int i = 0; i < iters; i++) {
                Batch b = batches.next(rng);
                sum += model.loss(model.forward(b.inputs(), b.batchSize(), b.blockSize()), b.targets()).item();
            }
            return sum / iters;
        } finally {
            model.train(wasTraining);
        }
    }
}
