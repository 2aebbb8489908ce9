package dev.toygpt.tour;

/**
 * Step 5: an untrained bigram model on the batch of step 4.
 *
 * @param logitsShape  (B, T, V): a score for every vocabulary entry, at every position of every window
 * @param loss         the model's mean cross-entropy on the batch
 * @param uniformLoss  cross-entropy of all-zero logits (every character equally likely), computed
 * @param lnV          -ln(1/V) = ln V, what uniform guessing should cost
 * @param firstInput   the token at batch position (0, 0)
 * @param firstTarget  the token that follows it
 * @param firstTargetProbability the probability the untrained model gives to that target
 */
public record BigramStep(int[] logitsShape, double loss, double uniformLoss, double lnV,
                         int firstInput, int firstTarget, double firstTargetProbability) {
    public int vocabSize() {
        return logitsShape[2];
    }
}
