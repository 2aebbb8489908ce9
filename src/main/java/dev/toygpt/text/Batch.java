package dev.toygpt.text;

import java.util.Arrays;
import java.util.Objects;

/**
 * One training batch: {@code batchSize} windows of {@code blockSize} token ids, and for each position
 * the id that follows it. Both arrays are flattened row-major, so window b, position t is at index
 * {@code b * blockSize + t} (the layout of a (B, T) tensor). Equality compares the contents.
 */
public record Batch(int[] inputs, int[] targets, int batchSize, int blockSize) {
    public Batch {
        Objects.requireNonNull(inputs, "inputs");
        Objects.requireNonNull(targets, "targets");
        if (batchSize <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException(
                    "batch and block size must be positive: batchSize=" + batchSize + ", blockSize=" + blockSize);
        }
        long expected = (long) batchSize * blockSize;
        if (inputs.length != expected || targets.length != expected) {
            throw new IllegalArgumentException("inputs and targets must hold batchSize * blockSize = " + expected
                    + " ids, got " + inputs.length + " and " + targets.length);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Batch other
                && batchSize == other.batchSize
                && blockSize == other.blockSize
                && Arrays.equals(inputs, other.inputs)
                && Arrays.equals(targets, other.targets);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(inputs), Arrays.hashCode(targets), batchSize, blockSize);
    }

    @Override
    public String toString() {
        return "Batch[" + batchSize + " x " + blockSize + "]";
    }
}
