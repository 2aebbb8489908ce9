package dev.toygpt.tour;

/**
 * Step 10: two questions the notebooks raise, answered by computing.
 *
 * @param shortRun       coverage of the training text by a short run (null if the text is too short for a window)
 * @param defaultRun     coverage by a run as long as the default bigram training (null likewise)
 * @param token0         the character that token id 0 stands for (a code point)
 */
public record QuestionsStep(Coverage shortRun, Coverage defaultRun, int token0) {
    /**
     * What the random windows of a training run touch.
     *
     * @param steps          batches drawn
     * @param batchSize      windows per batch
     * @param blockSize      tokens per window (each window also uses the token after it, as a target)
     * @param trainLength    tokens in the training part
     * @param covered        training positions that appeared in at least one window (as input or target)
     * @param distinctSeen   distinct characters among the covered positions
     * @param distinctInTrain distinct characters in the whole training part
     * @param vocabSize      characters in the vocabulary (of the whole text)
     * @param unseen         the characters (code points) of the training part that no window touched
     */
    public record Coverage(int steps, int batchSize, int blockSize, int trainLength, int covered,
                           int distinctSeen, int distinctInTrain, int vocabSize, int[] unseen) {
        public double coveredFraction() {
            return (double) covered / trainLength;
        }

        public double distinctFraction() {
            return (double) distinctSeen / vocabSize;
        }
    }
}
