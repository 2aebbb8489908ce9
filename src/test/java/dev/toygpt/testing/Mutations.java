package dev.toygpt.testing;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Damaged copies of a real file: one to eight edits, each a bit flip, a byte set, bytes inserted, a range
 * deleted or repeated, the file truncated, or a 64-bit little-endian number (a safetensors header length)
 * overwritten with a value from the edges: 0, -1, huge, just past the end.
 */
public final class Mutations {
    private Mutations() {}

    private record Edit(int kind, int position, int value, int length) {}

    private static final long[] EDGE_LONGS = {0, -1, 1, 7, 8, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 40, 1L << 31, (1L << 31) - 1,
            1L << 32, 100L << 20, (100L << 20) + 1};

    public static Arbitrary<byte[]> of(byte[] original) {
        Arbitrary<Edit> edit = Combinators.combine(
                Arbitraries.integers().between(0, 7),
                Arbitraries.integers().between(0, Integer.MAX_VALUE),
                Arbitraries.integers().between(0, Integer.MAX_VALUE),
                Arbitraries.integers().between(1, 64)).as(Edit::new);
        return edit.list().ofMinSize(1).ofMaxSize(8).map(edits -> apply(original, edits));
    }

    static byte[] apply(byte[] original, List<Edit> edits) {
        byte[] b = original.clone();
        for (Edit e : edits) {
            int n = b.length;
            int at = n == 0 ? 0 : e.position() % (n + 1);
            Random random = new Random(e.value());
            switch (e.kind()) {
                case 0 -> { if (at < n) b[at] ^= (byte) (1 << (e.value() & 7)); }
                case 1 -> { if (at < n) b[at] = (byte) e.value(); }
                case 2 -> {
                    byte[] ins = new byte[e.length()];
                    random.nextBytes(ins);
                    b = splice(b, at, 0, ins);
                }
                case 3 -> b = splice(b, at, Math.min(e.length(), n - at), new byte[0]);
                case 4 -> b = Arrays.copyOf(b, at);
                case 5 -> {
                    int pos = (e.value() & 1) == 0 ? 0 : Math.max(0, Math.min(at, n - 8));
                    if (n >= pos + 8) {
                        long v = (e.value() & 2) == 0 ? EDGE_LONGS[e.length() % EDGE_LONGS.length] : n - 8 + (e.length() - 32);
                        ByteBuffer.wrap(b, pos, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(v);
                    }
                }
                case 6 -> { // repeat a range somewhere else
                    int len = Math.min(e.length(), n - at);
                    int to = n == 0 ? 0 : random.nextInt(n + 1);
                    b = splice(b, to, 0, Arrays.copyOfRange(b, at, at + len));
                }
                default -> { // a digit changed: numbers in JSON and CSV become other numbers
                    for (int i = 0; i < n; i++) {
                        int p = (at + i) % n;
                        if (b[p] >= '0' && b[p] <= '9') {
                            b[p] = (byte) ('0' + e.value() % 10);
                            break;
                        }
                    }
                }
            }
        }
        return b;
    }

    private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] out = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
        return out;
    }
}
