package dev.toygpt.web;

import dev.toygpt.models.ModelConfig;
import dev.toygpt.train.TinyRuns;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The load test: 20 clients stream generations and chats from a seed-shaped GPT (n_embd 64, 4 heads,
 * 4 layers, block 32) as fast as they can for 30 s (-Dtoygpt.loadSeconds=N to change), against 127.0.0.1
 * only. Nothing may fail but the 429s of the generation limit; every stream that starts ends with done;
 * the heap holds no more after than before; the server still answers.
 */
@Tag("load")
class WebLoadTest {
    private static final int CLIENTS = 20;

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void twentyStreamingClientsForThirtySeconds() throws Exception {
        int seconds = Integer.getInteger("toygpt.loadSeconds", 30);
        Path runs = tmp.resolve("runs");
        ModelConfig seedShaped = ModelConfig.gpt(TinyRuns.corpus().vocabulary().size(), 64, 4, 4, 32, 0f);
        Playground.train(runs.resolve("seed"), seedShaped, 10, 5); // the shape is what matters here, not the loss
        try (PlaygroundServer server = PlaygroundServer.start(PlaygroundServer.Options.defaults(runs).withPort(0))) {
            Playground.Client client = new Playground.Client(server);
            client.stream("/api/generate", "{\"checkpoint\": \"seed@best\", \"maxNewTokens\": 500}"); // warm up the JIT
            long heapBefore = usedHeapAfterGc();

            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
            AtomicInteger completed = new AtomicInteger(), characters = new AtomicInteger();
            List<String> errors = java.util.Collections.synchronizedList(new ArrayList<>());
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
            List<Future<?>> clients = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                int id = c;
                clients.add(pool.submit(() -> {
                    for (int n = 0; System.nanoTime() < end; n++) {
                        boolean chat = n % 3 == 2;
                        String body = chat
                                ? "{\"checkpoint\": \"seed@best\", \"conversation\": \"the king\\n\", \"message\": \"speak " + n + "\", \"maxNewTokens\": 150, \"seed\": " + id + "}"
                                : "{\"checkpoint\": \"seed@best\", \"prompt\": \"my lord\", \"maxNewTokens\": 300, \"temperature\": 0.9, \"seed\": " + (id * 1000 + n) + "}";
                        try {
                            HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(client.base + (chat ? "/api/chat" : "/api/generate")))
                                    .timeout(Duration.ofSeconds(70)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                                    HttpResponse.BodyHandlers.ofInputStream());
                            statuses.computeIfAbsent(r.statusCode(), k -> new AtomicInteger()).incrementAndGet();
                            String text = Playground.readAll(r.body());
                            if (r.statusCode() == 429) {
                                if (r.headers().firstValue("Retry-After").isEmpty()) errors.add("429 without Retry-After");
                                Thread.sleep(50);
                                continue;
                            }
                            if (r.statusCode() != 200) {
                                errors.add(r.statusCode() + " " + text);
                                continue;
                            }
                            List<Playground.Event> events = Playground.parseEvents(text);
                            Playground.Event last = events.get(events.size() - 1);
                            if (!last.name().equals("done")) errors.add("stream ended with " + last.name() + " " + last.data());
                            characters.addAndGet(Playground.text(events).length());
                            completed.incrementAndGet();
                        } catch (Exception e) {
                            errors.add(e.toString());
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : clients) f.get(seconds + 90L, TimeUnit.SECONDS);
            pool.shutdown();

            assertEquals(List.of(), errors.subList(0, Math.min(10, errors.size())), "no errors but 429s; statuses " + statuses);
            assertTrue(completed.get() >= CLIENTS, "completed " + completed + ", statuses " + statuses);
            assertTrue(statuses.keySet().stream().allMatch(s -> s == 200 || s == 429), statuses.toString());
            for (long wait = System.nanoTime() + 5_000_000_000L; server.activeGenerations() > 0 && System.nanoTime() < wait; ) Thread.sleep(10);
            assertEquals(0, server.activeGenerations());
            long heapAfter = usedHeapAfterGc();
            System.err.printf("load: %d s, %d clients, %d streams completed (%,d characters), statuses %s, heap %d MB -> %d MB%n",
                    seconds, CLIENTS, completed.get(), characters.get(), statuses, heapBefore >> 20, heapAfter >> 20);
            assertTrue(heapAfter - heapBefore < 64L << 20, "heap grew from " + (heapBefore >> 20) + " MB to " + (heapAfter >> 20) + " MB");
            assertEquals(200, client.get("/api/runs").statusCode(), "the server still answers");
            assertEquals(200, client.post("/api/next", "{\"checkpoint\": \"seed@best\", \"text\": \"the king\"}").statusCode());
        }
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
            best = Math.min(best, rt.totalMemory() - rt.freeMemory());
        }
        return best;
    }
}
