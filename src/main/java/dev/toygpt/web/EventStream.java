package dev.toygpt.web;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A server-sent event stream written straight to a response. Characters are flushed at most every
 * {@link #FLUSH_NANOS}: sooner than a screen refreshes, so the page still sees them appear one by one, but
 * a fast model no longer pays a network write per character (that tripled the time of a 2,000-character
 * stream). Every other event is flushed at once. A write that fails means the reader went away:
 * {@link Gone} is thrown, which ends the generation that was writing.
 */
final class EventStream {
    /** The client disconnected (the page's Stop, a closed tab). */
    static final class Gone extends RuntimeException {
        Gone() {
            super(null, null, false, false);
        }
    }

    static final long FLUSH_NANOS = 10_000_000;
    private final OutputStream out;
    private long lastFlush = System.nanoTime();

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
        try {
            out.write(("event: " + event + "\ndata: " + json + "\n\n").getBytes(StandardCharsets.UTF_8));
            long now = System.nanoTime();
            if (!event.equals("token") || now - lastFlush >= FLUSH_NANOS) {
                out.flush();
                lastFlush = now;
            }
        } catch (IOException | RuntimeException e) {
            throw new Gone();
        }
    }
}
