package dev.toygpt.tour;

/**
 * Step 3: the training / validation split.
 *
 * @param total         tokens in the text
 * @param train         tokens in the training part (the first trainFraction, rounded down)
 * @param val           tokens in the validation part (the rest, the end of the text)
 * @param trainFraction the share kept for training
 */
public record SplitStep(int total, int train, int val, double trainFraction) {}
