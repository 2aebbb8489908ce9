package dev.toygpt.text;

import java.util.Arrays;
import java.util.Objects;

/**
 * Token ids divided into a training part and a held-out validation part; see {@link Corpus#split}.
 * Equality compares the contents of the arrays.
 */
public record Split(int[] train, int[] val) {
    public Split {
        Objects.requireNonNull(train, "train");
        Objects.requireNonNull(val, "val");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Split other && Arrays.equals(train, other.train) && Arrays.equals(val, other.val);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(train) + Arrays.hashCode(val);
    }

    @Override
    public String toString() {
        return "Split[train=" + train.length + " tokens, val=" + val.length + " tokens]";
    }
}
