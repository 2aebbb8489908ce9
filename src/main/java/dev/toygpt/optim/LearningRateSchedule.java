package dev.toygpt.optim;

/** The learning rate to use at a given step (0-based). */
@FunctionalInterface
public interface LearningRateSchedule {
    float at(long step);

    static LearningRateSchedule constant(float lr) {
        return step -> lr;
    }

    /**
     * Linear warm-up from 0 to maxLr over warmupSteps, then cosine decay to minLr at decaySteps, then minLr,
     * as nanoGPT's train.py does.
     */
    static LearningRateSchedule warmupCosine(float maxLr, long warmupSteps, long decaySteps, float minLr) {
        if (warmupSteps < 0 || decaySteps < warmupSteps) {
            throw new IllegalArgumentException("need 0 <= warm-up steps (" + warmupSteps + ") <= decay steps (" + decaySteps + ")");
        }
        return step -> {
            if (step < warmupSteps) return maxLr * (step + 1) / (warmupSteps + 1);
            if (step >= decaySteps) return minLr;
            double progress = (double) (step - warmupSteps) / Math.max(1, decaySteps - warmupSteps);
            double coeff = 0.5 * (1 + Math.cos(Math.PI * progress));
            return (float) (minLr + coeff * (maxLr - minLr));
        };
    }
}
