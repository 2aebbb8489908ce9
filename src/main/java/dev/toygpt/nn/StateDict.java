package dev.toygpt.nn;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model's parameters by their PyTorch {@code state_dict()} names. An entry may be a slice of a larger
 * parameter: the heads of an attention layer are stored as one matrix for speed, while PyTorch names
 * each head's weight separately.
 */
public final class StateDict {
    /** {@code shape} values starting at {@code offset} in {@code parameter}'s data. */
    public record Entry(dev.toygpt.autograd.Tensor parameter, int offset, int[] shape) {
        public int size() {
            int n = 1;
            for (int d : shape) n *= d;
            return n;
        }

        public float[] read() {
            return Arrays.copyOfRange(parameter.data(), offset, offset + size());
        }

        public void write(float[] values) {
            if (values.length != size()) throw new IllegalArgumentException("expected " + size() + " values, got " + values.length);
            System.arraycopy(values, 0, parameter.data(), offset, values.length);
        }
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();

    public void put(String name, Entry entry) {
        if (entries.put(name, entry) != null) throw new IllegalStateException("duplicate parameter name " + name);
    }

    public Map<String, Entry> entries() {
        return Collections.unmodifiableMap(entries);
    }

    public Entry get(String name) {
        return entries.get(name);
    }

    /** name -> shape, in registration order. */
    public Map<String, int[]> shapes() {
        Map<String, int[]> out = new LinkedHashMap<>();
        entries.forEach((k, v) -> out.put(k, v.shape().clone()));
        return out;
    }
}
