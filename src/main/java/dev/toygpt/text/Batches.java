package dev.toygpt.text;

import dev.toygpt.util.Rng;
import java.util.Objects;

/**
 * Random training windows over a token sequence, as the course's {@code get_batch}: each batch row is
 * {@code blockSize} consecutive tokens starting at a uniformly random position, and its targets are
 * the same window shifted one token to the right. A window of T inputs therefore gives T training
 * examples at once (predict token t+1 from tokens 0..t, for every t).
 *
 * <p>All randomness comes from the {@link Rng} passed to {@link #next}, so a run is repeatable from
 * its seed and can be resumed from a saved generator state.
 */
public final class Batches {
    private final int[] data;
    private final int blockSize;
    private final int batchSize;

    /**
     * @param data token ids (copied)
     * @throws DataException if {@code data} is too short for even one window of {@code blockSize + 1}
     *     tokens
     */
    public Batches(int[] data, int blockSize, int batchSize) {
        this("the data", data, blockSize, batchSize);
    }

    /**
     * Same as {@link #Batches(int[], int, int)}, with a name for messages, such as
     * {@code "the validation split"}.
     */
    public Batches(String name, int[] data, int blockSize, int batchSize) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(data, "data");
        if (blockSize <= 0) {
            throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        }
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        if ((long) batchSize * blockSize > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("batch size x block size is too large: " + batchSize + " x " + blockSize);
        }
        // A window needs blockSize inputs plus the one token after them as the last target,
        // and torch.randint(len(data) - block_size) needs that bound to be at least 1.
        if (data.length < blockSize + 1L) {
            throw new DataException(tooShortMessage(name, data.length, blockSize));
        }
        this.data = data.clone();
        this.blockSize = blockSize;
        this.batchSize = batchSize;
    }

    private static String tooShortMessage(String name, int length, int blockSize) {
        String problem = name + " has " + length + (length == 1 ? " token" : " tokens")
                + ", too few for block size " + blockSize + ": a training window needs block size + 1 = "
                + (blockSize + 1L) + " tokens. ";
        if (length >= 2) {
            return problem + "Lower --block-size to at most " + (length - 1)
                    + ", or use more text (or change the train/validation split so this part gets more of it)";
        }
        return problem + "Use more text (or change the train/validation split so this part gets more of it)";
    }

    /**
     * Draws one batch. Window starts are drawn one per row, in row order, with
     * {@code rng.nextInt(data.length - blockSize)}, like
     * {@code torch.randint(len(data) - block_size, (batch_size,))}.
     */
    public Batch next(Rng rng) {
        Objects.requireNonNull(rng, "rng");
        int[] inputs = new int[batchSize * blockSize];
        int[] targets = new int[batchSize * blockSize];
        for (int b = 0; b < batchSize; b++) {
            int start = rng.nextInt(data.length - blockSize);
            System.arraycopy(data, start, inputs, b * blockSize, blockSize);
            System.arraycopy(data, start + 1, targets, b * blockSize, blockSize);
        }
        return new Batch(inputs, targets, batchSize, blockSize);
    }

    public int blockSize() {
        return blockSize;
    }

    public int batchSize() {
        return batchSize;
    }

    /** Number of tokens the windows are drawn from. */
    public int dataLength() {
        return data.length;
    }
}
