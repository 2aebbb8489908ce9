package dev.toygpt.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The safetensors format (the one PyTorch and Hugging Face use): an 8-byte little-endian header length,
 * a JSON header mapping each tensor name to its dtype, shape and byte range, then the raw little-endian
 * bytes. Reading checks every range and size, so a truncated or corrupt file is reported, never half-used.
 */
public final class SafeTensors {
    private static final long MAX_HEADER = 100L << 20;
    /** Parses headers with bounded nesting and length; a tensor name given twice is an error. */
    private static final ObjectMapper JSON = JsonFiles.mapper(MAX_HEADER);
    /** The most one byte array (so one file read whole) can hold. */
    private static final long MAX_FILE = Integer.MAX_VALUE - 16;

    /** One tensor: its dtype ("F32" or "I64"), shape and raw little-endian bytes. */
    public record Entry(String dtype, int[] shape, byte[] bytes) {
        public int elementCount() {
            int n = 1;
            for (int d : shape) n *= d;
            return n;
        }

        public float[] floats() {
            if (!dtype.equals("F32")) throw new IllegalStateException("tensor is " + dtype + ", not F32");
            float[] out = new float[elementCount()];
            ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            return out;
        }

        public long[] longs() {
            if (!dtype.equals("I64")) throw new IllegalStateException("tensor is " + dtype + ", not I64");
            long[] out = new long[elementCount()];
            ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(out);
            return out;
        }

        /** I64 or I32 values as ints (token ids). */
        public int[] ints() {
            if (dtype.equals("I32")) {
                int[] out = new int[elementCount()];
                ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(out);
                return out;
            }
            return Arrays.stream(longs()).mapToInt(Math::toIntExact).toArray();
        }

        public static Entry ofFloats(float[] values, int... shape) {
            ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            buf.asFloatBuffer().put(values);
            return new Entry("F32", shape.clone(), buf.array());
        }

        public static Entry ofLongs(long[] values, int... shape) {
            ByteBuffer buf = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            buf.asLongBuffer().put(values);
            return new Entry("I64", shape.clone(), buf.array());
        }
    }

    /** The tensors of a file, in file order, and its string metadata. */
    public record Contents(Map<String, Entry> tensors, Map<String, String> metadata) {
        public Entry get(String name) {
            Entry e = tensors.get(name);
            if (e == null) throw new SafeTensorsException("no tensor named '" + name + "'");
            return e;
        }

        public Set<String> names() {
            return tensors.keySet();
        }
    }

    /** A file that is not valid safetensors. */
    public static final class SafeTensorsException extends RuntimeException {
        public SafeTensorsException(String message) {
            super(message);
        }
    }

    private SafeTensors() {}

    public static Contents read(Path file) throws IOException {
        byte[] all;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE) throw new SafeTensorsException(file + ": " + size + " bytes, more than the 2 GB ToyGPT can read");
            all = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "file not found");
        }
        return parse(all, file.toString());
    }

    static Contents parse(byte[] all, String what) {
        if (all.length < 8) throw new SafeTensorsException(what + ": too short to be a safetensors file (" + all.length + " bytes)");
        long headerLen = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > all.length) {
            throw new SafeTensorsException(what + ": header length " + headerLen + " does not fit a file of " + all.length
                    + " bytes (truncated or not a safetensors file)");
        }
        JsonNode header;
        try {
            header = JSON.readTree(all, 8, (int) headerLen);
        } catch (IOException e) {
            throw new SafeTensorsException(what + ": header is not valid JSON (" + String.valueOf(e.getMessage()).lines().findFirst().orElse("") + ")");
        }
        if (header == null || !header.isObject()) throw new SafeTensorsException(what + ": header is not a JSON object");
        int dataStart = 8 + (int) headerLen;
        long dataLen = all.length - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, Entry> tensors = new LinkedHashMap<>();
        TreeMap<Long, Long> ranges = new TreeMap<>(); // begin -> end of each non-empty tensor, to find overlaps
        Iterator<Map.Entry<String, JsonNode>> fields = header.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> f = fields.next();
            if (f.getKey().equals("__metadata__")) {
                f.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            JsonNode t = f.getValue();
            String dtype = t.path("dtype").asText("");
            int width = switch (dtype) {
                case "F32", "I32" -> 4;
                case "I64" -> 8;
                default -> throw new SafeTensorsException(what + ": tensor '" + f.getKey() + "' has unsupported dtype '" + dtype + "'");
            };
            JsonNode shapeNode = t.path("shape"), offsets = t.path("data_offsets");
            if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
                throw new SafeTensorsException(what + ": tensor '" + f.getKey() + "' lacks a shape or data_offsets");
            }
            int[] shape = new int[shapeNode.size()];
            long count = 1;
            for (int i = 0; i < shape.length; i++) {
                long d = shapeNode.get(i).isIntegralNumber() && shapeNode.get(i).canConvertToLong() ? shapeNode.get(i).asLong() : -1;
                if (d < 0 || d > Integer.MAX_VALUE) throw new SafeTensorsException(what + ": tensor '" + f.getKey() + "' has a bad shape");
                shape[i] = (int) d;
                try {
                    count = Math.multiplyExact(count, d);
                } catch (ArithmeticException overflow) {
                    throw new SafeTensorsException(what + ": tensor '" + f.getKey() + "' has a shape " + shapeNode + " too large for any file");
                }
            }
            if (count > MAX_FILE) throw new SafeTensorsException(what + ": tensor '" + f.getKey() + "' has a shape " + shapeNode + " too large for any file");
            long begin = whole(offsets.get(0)), end = whole(offsets.get(1));
            if (begin < 0 || end < begin || end > dataLen) {
                throw new SafeTensorsException(what + ": tensor '" + f.getKey() + "' bytes [" + begin + ", " + end
                        + ") lie outside the " + dataLen + " data bytes (truncated file?)");
            }
            if (end - begin != count * width) {
                throw new SafeTensorsException(what + ": tensor '" + f.getKey() + "' has " + (end - begin) + " bytes but shape "
                        + Arrays.toString(shape) + " of " + dtype + " needs " + count * width);
            }
            if (end > begin) {
                var before = ranges.floorEntry(begin);
                var after = ranges.ceilingEntry(begin);
                if ((before != null && before.getValue() > begin) || (after != null && after.getKey() < end)) {
                    throw new SafeTensorsException(what + ": tensor '" + f.getKey() + "' bytes [" + begin + ", " + end
                            + ") overlap another tensor's");
                }
                ranges.put(begin, end);
            }
            byte[] bytes = Arrays.copyOfRange(all, dataStart + (int) begin, dataStart + (int) end);
            tensors.put(f.getKey(), new Entry(dtype, shape, bytes));
        }
        return new Contents(Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
    }

    /** A whole number that fits a long, or -1. */
    private static long whole(JsonNode n) {
        return n.isIntegralNumber() && n.canConvertToLong() ? n.asLong() : -1;
    }

    /**
     * Writes tensors (in the map's order) and metadata (sorted by key) atomically. Sorting makes the file
     * the same bytes whatever map the caller passes: the iteration order of {@code Map.of} changes from one
     * JVM start to the next, so checkpoints of identical weights would otherwise differ between processes.
     */
    public static void write(Path file, Map<String, Entry> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            new TreeMap<>(metadata).forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Entry> e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", e.getValue().dtype());
            var shape = t.putArray("shape");
            for (int d : e.getValue().shape()) shape.add(d);
            var offsets = t.putArray("data_offsets");
            offsets.add(offset);
            offset += e.getValue().bytes().length;
            offsets.add(offset);
        }
        byte[] headerBytes = JSON.writeValueAsBytes(header);
        int padded = (headerBytes.length + 7) / 8 * 8; // tensor data starts 8-byte aligned
        byte[] headerPadded = Arrays.copyOf(headerBytes, padded);
        Arrays.fill(headerPadded, headerBytes.length, padded, (byte) ' ');
        AtomicFiles.write(file, out -> {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            out.write(headerPadded);
            for (Entry e : tensors.values()) out.write(e.bytes());
        });
    }
}
