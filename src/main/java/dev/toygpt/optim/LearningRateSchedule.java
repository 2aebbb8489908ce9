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

    /**
     * A schedule that fits itself to a budget (of time, or of steps): by the fraction of the budget spent (0 to 1),
     * a linear warm-up over the first warmupFraction, the full maxLr until the last decayFraction of the budget,
     * then a straight line down to minLr at the end. However many steps the machine manages, the run ends on the
     * small learning rate that turns what it learned into a low loss. Holding maxLr and decaying late learns
     * more per step in a short run than a cosine over the whole budget does (baby, 1,400 steps: 1.755 against
     * 1.779, or 1.773 against 1.789 with another seed and min_lr 0; 1,900 steps: 1.701 against 1.716).
     */
    static float byTimeFraction(float maxLr, float minLr, double warmupFraction, double decayFraction, double fraction) {
        double f = Math.min(1, Math.max(0, fraction));
        if (f < warmupFraction) return (float) (maxLr * (0.1 + 0.9 * f / warmupFraction));
        double decayStart = Math.max(warmupFraction, 1 - decayFraction);
        if (f <= decayStart) return maxLr;
        double progress = (f - decayStart) / Math.max(1e-9, 1 - decayStart);
        return (float) (minLr + (1 - progress) * (maxLr - minLr));
    }
}
