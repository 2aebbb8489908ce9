package dev.toygpt.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The event stream's hot path: character events built from prepared bytes, sent in batches. */
class EventStreamTest {
    /** Counts flushes, and can be made to fail like a socket whose reader left. */
    private static final class Sink extends OutputStream {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int flushes;
        boolean broken;

        @Override
        public void write(int b) throws IOException {
            if (broken) throw new IOException("gone");
            bytes.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (broken) throw new IOException("gone");
            bytes.write(b, off, len);
        }

        @Override
        public void flush() throws IOException {
            if (broken) throw new IOException("gone");
            flushes++;
        }

        String text() {
            return bytes.toString(StandardCharsets.UTF_8);
        }
    }

    @Test
    void tokenEventsAreTheJsonTheApiDocumentsWhateverTheCharacter() throws Exception {
        Sink sink = new Sink();
        EventStream events = new EventStream(sink);
        ObjectNode start = JsonBody.JSON.createObjectNode().put("prompt", "x");
        events.send("start", start);
        String[] chars = {"a", "\"", "\\", "\n", "é", "\u2028", "a"};
        double[] ps = {0.53125, 1.0, 1e-9, 0.1, 0.333333333, 0.999, 0.25};
        for (int i = 0; i < chars.length; i++) events.token(i == 6 ? 0 : i + 1, chars[i], ps[i]);
        events.send("done", JsonBody.JSON.createObjectNode().put("reason", "length"));

        List<Playground.Event> parsed = Playground.parseEvents(sink.text());
        assertEquals(chars.length + 2, parsed.size());
        assertEquals("start", parsed.get(0).name());
        assertEquals("done", parsed.get(parsed.size() - 1).name());
        for (int i = 0; i < chars.length; i++) {
            Playground.Event e = parsed.get(i + 1);
            assertEquals("token", e.name());
            JsonNode d = e.data();
            assertEquals(List.of("text", "char", "id", "p"), iterableToList(d.fieldNames()));
            assertEquals(chars[i], d.get("text").asText());
            assertEquals(chars[i], d.get("char").asText());
            assertEquals(i == 6 ? 0 : i + 1, d.get("id").asInt());
            assertEquals((float) ps[i], d.get("p").floatValue(), "p reads back as the same float");
        }
    }

    @Test
    void charactersAreFlushedInBatchesAndEveryOtherEventAtOnce() {
        Sink sink = new Sink();
        EventStream events = new EventStream(sink);
        events.send("start", JsonBody.JSON.createObjectNode());
        assertEquals(1, sink.flushes, "start goes out at once");
        events.token(0, "a", 0.5);
        assertEquals(2, sink.flushes, "the first character goes out at once");
        for (int i = 1; i < 5000; i++) events.token(i % 60, "a", 0.5);
        // 5,000 characters written as fast as they come: batches of about 10 ms, not one flush each
        assertTrue(sink.flushes < 2 + 500, sink.flushes + " flushes for 5,000 characters");
        events.send("done", JsonBody.JSON.createObjectNode());
        assertEquals(5002, sink.text().split("\n\n").length, "nothing lost in the batches");
    }

    @Test
    void aSlowModelsCharactersGoOutOneByOne() throws Exception {
        Sink sink = new Sink();
        EventStream events = new EventStream(sink);
        for (int i = 0; i < 5; i++) {
            Thread.sleep(EventStream.FLUSH_NANOS / 1_000_000 + 2);
            events.token(1, "b", 0.5);
            assertEquals(i + 1, sink.flushes, "a character drawn more than 10 ms after the last flush is sent at once");
        }
    }

    @Test
    void aReaderThatLeftEndsTheGenerationAtTheNextFlush() throws Exception {
        Sink sink = new Sink();
        EventStream events = new EventStream(sink);
        events.token(1, "a", 0.5);
        sink.broken = true;
        Thread.sleep(EventStream.FLUSH_NANOS / 1_000_000 + 2);
        assertThrows(EventStream.Gone.class, () -> events.token(1, "a", 0.5));
        assertThrows(EventStream.Gone.class, () -> events.send("done", JsonBody.JSON.createObjectNode()));
    }

    private static List<String> iterableToList(java.util.Iterator<String> it) {
        List<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
