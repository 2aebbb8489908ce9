package dev.toygpt.web;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A server-sent event stream written straight to a response.
 *
 * <p>Character events are the hot path (one per generated character, as fast as the model writes): each is
 * built from bytes prepared once per character id plus its probability, into a buffer that goes to the
 * network at most every {@link #FLUSH_NANOS}, sooner than a screen refreshes, so the page still sees the
 * characters appear one by one while a fast model pays neither a JSON tree nor a network write per
 * character. The first character goes out at once, so the page shows that writing has begun as soon as it
 * has (a small model writes a whole answer within one batch). Every other event is flushed at once, after
 * the characters before it. A write that fails
 * means the reader went away: {@link Gone} is thrown, which ends the generation that was writing.
 */
final class EventStream {
    /** The client disconnected (the page's Stop, a closed tab). */
    static final class Gone extends RuntimeException {
        Gone() {
            super(null, null, false, false);
        }
    }

    static final long FLUSH_NANOS = 10_000_000;
    private static final byte[] P = ",\"p\":".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "}\n\n".getBytes(StandardCharsets.US_ASCII);

    private final OutputStream out;
    private long lastFlush = System.nanoTime();
    private boolean sentToken;
    private byte[] buffer = new byte[8192];
    private int length;
    /** Per character id: {@code event: token\ndata: {"text":..,"char":..,"id":N}, made on first use. */
    private byte[][] tokenPrefix = new byte[0][];

    EventStream(OutputStream out) {
        this.out = out;
    }

    void send(String event, ObjectNode data) {
        String json;
        try {
            json = JsonBody.JSON.writeValueAsString(data);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        append(("event: " + event + "\ndata: " + json + "\n\n").getBytes(StandardCharsets.UTF_8));
        flush();
    }

    /**
     * The event {@code token}, {@code {"text": text, "char": text, "id": id, "p": p}}; p is sent as a float
     * (the shortest decimal that reads back as the same float).
     */
    void token(int id, String text, double p) {
        if (id >= tokenPrefix.length) tokenPrefix = Arrays.copyOf(tokenPrefix, Math.max(id + 1, 2 * tokenPrefix.length));
        byte[] prefix = tokenPrefix[id];
        if (prefix == null) {
            ObjectNode n = JsonBody.JSON.createObjectNode();
            n.put("text", text);
            n.put("char", text);
            n.put("id", id);
            String json = n.toString();
            prefix = ("event: token\ndata: " + json.substring(0, json.length() - 1)).getBytes(StandardCharsets.UTF_8);
            tokenPrefix[id] = prefix;
        }
        append(prefix);
        append(P);
        float f = (float) p;
        String number = Float.isFinite(f) ? Float.toString(f) : "null";
        for (int i = 0; i < number.length(); i++) appendByte((byte) number.charAt(i)); // ASCII digits, '.', 'E', '-'
        append(END);
        long now = System.nanoTime();
        if (!sentToken || now - lastFlush >= FLUSH_NANOS) flush();
        sentToken = true;
    }

    private void flush() {
        try {
            out.write(buffer, 0, length);
            out.flush();
        } catch (IOException | RuntimeException e) {
            throw new Gone();
        } finally {
            length = 0;
        }
        lastFlush = System.nanoTime();
    }

    private void append(byte[] bytes) {
        ensure(bytes.length);
        System.arraycopy(bytes, 0, buffer, length, bytes.length);
        length += bytes.length;
    }

    private void appendByte(byte b) {
        ensure(1);
        buffer[length++] = b;
    }

    private void ensure(int more) {
        if (length + more > buffer.length) buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, length + more));
    }
}
