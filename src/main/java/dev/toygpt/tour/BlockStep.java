package dev.toygpt.tour;

import dev.toygpt.text.Batch;

import java.util.List;

/**
 * Step 4: how one window of text becomes many training examples, and a random batch of windows.
 *
 * @param blockSize the context length (8, or less on a very short text)
 * @param x         the first blockSize training tokens
 * @param y         the same window shifted by one: y[t] is the token that follows x[0..t]
 * @param examples  the blockSize (context, target) pairs hidden in that one window
 * @param batch     one random batch of {@link Tour#BATCH_SIZE} windows, drawn with the tour's seed
 */
public record BlockStep(int blockSize, int[] x, int[] y, List<Example> examples, Batch batch) {
    /** Given the tokens of context, the model should predict target. */
    public record Example(int[] context, int target) {}
}
