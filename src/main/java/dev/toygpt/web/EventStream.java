package dev.toygpt.web;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A server-sent event stream written straight to a response, flushed after each event so the page sees
 * every character as it is generated. A write that fails means the reader went away: {@link Gone} is
 * thrown, which ends the generation that was writing.
 */
final class EventStream {
    /** The client disconnected (the page's Stop, a closed tab). */
    static final class Gone extends RuntimeException {
        Gone() {
            super(null, null, false, false);
        }
    }

    private final OutputStream out;

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
            out.flush();
        } catch (IOException | RuntimeException e) {
            throw new Gone();
        }
    }
}
