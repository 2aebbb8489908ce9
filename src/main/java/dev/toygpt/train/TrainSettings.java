package dev.toygpt.train;

/**
 * How a model is trained (the model's own sizes are in ModelConfig).
 *
 * @param optimizer        "adamw", "adam" or "sgd"
 * @param gradClip         maximum gradient norm, 0 for no clipping
 * @param schedule         "constant", "cosine" (linear warm-up then cosine decay to minLr at maxIters), or "time"
 *                         (warm-up, the full rate, then a linear decay to minLr over the last 40% of the time
 *                         limit, by elapsed time)
 * @param maxIters         stop after this many steps; {@link #NO_STEP_LIMIT} when the time limit is the only budget
 * @param timeLimitSeconds stop after this much wall-clock training time, 0 for no limit
 * @param microBatches     parts each batch is cut into, each taken forward and backward on its own (see
 *                         {@link TrainStep}); the gradient is their mean. The results depend on this count,
 *                         never on the thread count.
 */
public record TrainSettings(int batchSize, int maxIters, int evalInterval, int evalIters, float learningRate,
                            String optimizer, float weightDecay, float gradClip, String schedule, int warmupIters,
                            float minLr, long seed, double trainFraction, double timeLimitSeconds, int microBatches) {

    /** The schedule that --time-limit brings unless another is asked for: it decays over the time budget. */
    public static final String TIME_SCHEDULE = "time";

    /** maxIters of a run whose only budget is its --time-limit (given without --max-iters). */
    public static final int NO_STEP_LIMIT = Integer.MAX_VALUE;

    /** Whether the run stops after maxIters steps, not only when its time is up. */
    public boolean stepLimited() {
        return maxIters != NO_STEP_LIMIT;
    }

    /** The budget in words: "2,000 steps", "2,000 steps or 60 s", or "60 s". */
    public String budget() {
        String time = timeLimitSeconds > 0 ? String.format(java.util.Locale.ROOT, "%.0f s", timeLimitSeconds) : "";
        if (!stepLimited()) return time;
        String steps = String.format(java.util.Locale.ROOT, "%,d steps", maxIters);
        return time.isEmpty() ? steps : steps + " or " + time;
    }

    public TrainSettings validate() {
        positive("--batch-size", batchSize);
        positive("--max-iters", maxIters);
        positive("--eval-interval", evalInterval);
        positive("--eval-iters", evalIters);
        if (!(learningRate > 0f) || Float.isInfinite(learningRate)) {
            throw new IllegalArgumentException("--lr must be a positive number, got " + learningRate);
        }
        if (!optimizer.equals("adamw") && !optimizer.equals("adam") && !optimizer.equals("sgd")) {
            throw new IllegalArgumentException("--optimizer must be adamw, adam or sgd, got '" + optimizer + "'");
        }
        if (!(weightDecay >= 0f)) throw new IllegalArgumentException("--weight-decay must be >= 0, got " + weightDecay);
        if (!(gradClip >= 0f)) throw new IllegalArgumentException("--grad-clip must be >= 0 (0 turns it off), got " + gradClip);
        if (!schedule.equals("constant") && !schedule.equals("cosine") && !schedule.equals(TIME_SCHEDULE)) {
            throw new IllegalArgumentException("--schedule must be constant, cosine or time, got '" + schedule + "'");
        }
        if (schedule.equals(TIME_SCHEDULE) && !(timeLimitSeconds > 0)) {
            throw new IllegalArgumentException("--schedule time decays the learning rate over the --time-limit: give one, e.g. --time-limit 60s");
        }
        if (warmupIters < 0) throw new IllegalArgumentException("--warmup-iters must be >= 0, got " + warmupIters);
        if (!(minLr >= 0f)) throw new IllegalArgumentException("--min-lr must be >= 0, got " + minLr);
        if (!(trainFraction > 0 && trainFraction < 1)) {
            throw new IllegalArgumentException("--train-fraction must be between 0 and 1 (exclusive), got " + trainFraction);
        }
        if (!(timeLimitSeconds >= 0)) throw new IllegalArgumentException("--time-limit must be positive");
        if (!stepLimited() && !(timeLimitSeconds > 0)) throw new IllegalArgumentException("a run without a step limit needs a --time-limit");
        if (!stepLimited() && schedule.equals("cosine")) {
            throw new IllegalArgumentException("--schedule cosine decays the learning rate over --max-iters: give one, or use --schedule time");
        }
        positive("--micro-batches", microBatches);
        if (batchSize % microBatches != 0) {
            throw new IllegalArgumentException("--micro-batches must divide the batch size: " + batchSize + " sequences cannot be cut into "
                    + microBatches + " equal parts");
        }
        return this;
    }

    private static void positive(String option, int value) {
        if (value <= 0) throw new IllegalArgumentException(option + " must be positive, got " + value);
    }
}
