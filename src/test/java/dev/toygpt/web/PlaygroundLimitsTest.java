package dev.toygpt.web;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hostile-network rules: Host, Origin, ids never paths, sizes, concurrency, time, disconnects, bad JSON. */
class PlaygroundLimitsTest {
    @TempDir
    static Path tmp;
    static Path runs;
    static PlaygroundServer server;
    static Playground.Client client;
    static final AtomicInteger tokens = new AtomicInteger();

    @BeforeAll
    static void start() throws Exception {
        runs = tmp.resolve("runs");
        Playground.trainGpt(runs.resolve("tiny"));
        server = PlaygroundServer.start(PlaygroundServer.Options.defaults(runs).withPort(0));
        client = new Playground.Client(server);
    }

    @AfterEach
    void noPacer() {
        Api.pacer = null;
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    /** A slow generation: 5 ms a character, counted. */
    private static void slowGeneration() {
        Api.pacer = () -> {
            tokens.incrementAndGet();
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
    }

    /** Sends a raw HTTP/1.1 request (any Host header) and returns the whole response. */
    private static String raw(String request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(20_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String get(String path, String host, String... headers) throws IOException {
        return raw("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + String.join("", headers) + "Connection: close\r\n\r\n");
    }

    private static String post(String path, String host, String body, String... headers) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        return raw("POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nContent-Length: " + b.length
                + "\r\n" + String.join("", headers) + "Connection: close\r\n\r\n" + body);
    }

    private static int status(String response) {
        return Integer.parseInt(response.substring(9, 12));
    }

    private static String here() {
        return "127.0.0.1:" + server.port();
    }

    private static void assertJsonError(String response, int expected) throws IOException {
        assertEquals(expected, status(response), response);
        String body = response.substring(response.indexOf("\r\n\r\n") + 4);
        if (response.toLowerCase().contains("transfer-encoding: chunked")) body = body.substring(body.indexOf("\r\n") + 2);
        JsonNode n = Playground.JSON.readTree(body.substring(0, body.lastIndexOf('}') + 1));
        assertTrue(n.get("error").asText().length() > 5, response);
        assertFalse(body.contains("\tat ") || body.contains("Exception"), "no stack trace: " + body);
    }

    @Test
    void onlyRequestsNamingThisServerInTheirHostHeaderAreAnswered() throws Exception {
        assertEquals(200, status(get("/api/runs", here())));
        assertEquals(200, status(get("/api/runs", "localhost:" + server.port())));
        assertEquals(200, status(get("/api/runs", "LOCALHOST:" + server.port())));
        assertJsonError(get("/api/runs", "evil.example"), 403);
        assertJsonError(get("/api/runs", "evil.example:" + server.port()), 403);
        assertJsonError(get("/api/runs", "127.0.0.1:1"), 403);
        assertJsonError(get("/", "rebound.attacker.test:" + server.port()), 403);
        assertJsonError(post("/api/next", "evil.example", "{\"checkpoint\": \"tiny@best\"}"), 403);
    }

    @Test
    void requestsFromOtherSitesAreRefused() throws Exception {
        String body = "{\"checkpoint\": \"tiny@best\", \"text\": \"the\"}";
        assertEquals(200, status(post("/api/next", here(), body, "Origin: http://" + here() + "\r\n")));
        assertEquals(200, status(post("/api/next", here(), body, "Origin: http://localhost:" + server.port() + "\r\n")));
        assertJsonError(post("/api/next", here(), body, "Origin: http://evil.example\r\n"), 403);
        assertJsonError(post("/api/next", here(), body, "Origin: null\r\n"), 403);
        assertJsonError(post("/api/next", here(), body, "Origin: https://" + here() + "\r\n"), 403);
        assertJsonError(post("/api/next", here(), body, "Origin: http://127.0.0.1:1\r\n"), 403);
        assertJsonError(post("/api/generate", here(), body, "Origin: http://evil.example\r\n"), 403);
        assertJsonError(post("/api/next", here(), body, "Sec-Fetch-Site: cross-site\r\n"), 403);
        assertJsonError(get("/api/events", here(), "Accept: text/event-stream\r\n", "Origin: http://evil.example\r\n"), 403);
        assertJsonError(get("/api/runs", here(), "Origin: http://evil.example\r\n"), 403);
    }

    @Test
    void idsAreLookedUpNeverUsedAsPaths() throws Exception {
        Path outside = tmp.resolve("outside");
        Playground.trainGpt(outside.resolve("secret"));
        Files.writeString(outside.resolve("passwd"), "root:x:0:0");
        Files.createSymbolicLink(runs.resolve("escape"), outside.resolve("secret"));
        Files.createSymbolicLink(runs.resolve("alias"), runs.resolve("tiny")); // inside --runs: the run it leads to, under its own id
        // a run whose pointer file names a folder outside it
        Path crafted = runs.resolve("crafted");
        Files.createDirectories(crafted);
        Files.writeString(crafted.resolve("checkpoints.json"), "{\"last\": \"../../outside/secret/step-000040\", \"best\": \"/etc\"}");

        JsonNode list = client.getJson("/api/runs").get("runs");
        List<String> ids = list.findValuesAsText("id");
        assertFalse(ids.stream().anyMatch(id -> id.startsWith("escape")), ids.toString());
        assertTrue(ids.contains("tiny") && !ids.contains("alias"), ids.toString());
        for (JsonNode r : list) {
            if (r.get("id").asText().equals("crafted")) assertEquals(0, r.get("checkpoints").size(), r.toString());
        }

        String secret = outside.resolve("secret").toAbsolutePath().toString();
        for (String cp : List.of("escape@best", "crafted@last", "crafted@best", "../tiny@best", "tiny/../tiny@best", secret + "@best",
                "tiny@../../outside/secret/step-000040", "tiny@" + secret + "/step-000040", "tiny", "tiny@", "@best")) {
            String body = Playground.JSON.createObjectNode().put("checkpoint", cp).put("text", "the").toString();
            assertJsonError(post("/api/next", here(), body), 404);
        }
        for (String path : List.of("/api/runs/escape/metrics", "/api/runs/..%2Foutside%2Fsecret/metrics", "/api/runs/../outside/metrics",
                "/api/runs/%2e%2e/metrics", "/api/runs/%2e%2e%2f%2e%2e%2foutside/metrics", "/api/runs/%2Fetc/metrics",
                "/api/embeddings?checkpoint=..%2F..%2Foutside%2Fsecret%40best", "/../outside/passwd", "/%2e%2e/outside/passwd",
                "/web/../../outside/passwd", "/webjars/../../../outside/passwd")) {
            String r = get(path, here());
            int status = status(r);
            assertTrue(status == 400 || status == 404, path + " -> " + r);
            assertFalse(r.contains("root:x"), r);
            assertFalse(r.contains("\tat "), r);
        }
        assertEquals(200, status(post("/api/next", here(), "{\"checkpoint\": \"tiny@best\"}")));
    }

    @Test
    void bodiesOver64KbAreRefusedWhetherTheyAnnounceTheirSizeOrNot() throws Exception {
        String big = "{\"checkpoint\": \"tiny@best\", \"text\": \"" + "a".repeat(70_000) + "\"}";
        assertJsonError(post("/api/next", here(), big), 413);
        // chunked: no Content-Length to look at first
        HttpResponse<String> r = client.http.send(HttpRequest.newBuilder(URI.create(client.base + "/api/next"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big.getBytes(StandardCharsets.UTF_8))))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(413, r.statusCode(), r.body());
        assertTrue(client.json(r).get("error").asText().contains("64 KB"));
    }

    @Test
    void malformedRequestsGet400WithAMessage() throws Exception {
        String[][] cases = {
                {"{", "not valid JSON"}, {"[1, 2]", "JSON object"}, {"{} {}", "not valid JSON"},
                {"{\"checkpoint\": \"tiny@best\", \"checkpoint\": \"tiny@last\"}", "not valid JSON"}, {"\"text\"", "JSON object"}, {"", "JSON object"},
                {"{\"text\": \"the\"}", "checkpoint is missing"},
                {"{\"checkpoint\": 5}", "checkpoint must be a string"},
                {"{\"checkpoint\": \"tiny@best\", \"text\": [1]}", "text must be a string"},
                {"{\"checkpoint\": \"tiny@best\", \"temperature\": \"hot\"}", "temperature must be a number"},
                {"{\"checkpoint\": \"tiny@best\", \"temperature\": 0}", "temperature must be a finite number > 0"},
                {"{\"checkpoint\": \"tiny@best\", \"topP\": 1.5}", "topP must be in the range (0, 1]"},
                {"{\"checkpoint\": \"tiny@best\", \"topK\": -1}", "topK must be between 0"},
                {"{\"checkpoint\": \"tiny@best\", \"topK\": 2.5}", "topK must be a whole number"},
                {"{\"checkpoint\": \"tiny@best\", \"greedy\": \"yes\"}", "greedy must be true or false"},
                {"{\"checkpoint\": \"tiny@best\", \"draw\": 1}", "draw must be true or false"},
                {"{\"checkpoint\": \"tiny@best\", \"seed\": \"x\"}", "seed must be a whole number"},
                {"{\"checkpoint\": \"tiny@best\", \"text\": \"" + "a".repeat(10_001) + "\"}", "text is longer than 10000 characters"},
        };
        for (String[] c : cases) {
            HttpResponse<String> r = client.post("/api/next", c[0]);
            assertEquals(400, r.statusCode(), c[0] + " -> " + r.body());
            assertTrue(client.json(r).get("error").asText().contains(c[1]), c[0] + " -> " + r.body());
        }
        String[][] generation = {
                {"{\"checkpoint\": \"tiny@best\", \"maxNewTokens\": 0}", "maxNewTokens must be between 1 and 2000"},
                {"{\"checkpoint\": \"tiny@best\", \"maxNewTokens\": 2001}", "maxNewTokens must be between 1 and 2000"},
                {"{\"checkpoint\": \"tiny@best\", \"maxNewTokens\": \"10\"}", "maxNewTokens must be a whole number"},
                {"{\"checkpoint\": \"tiny@best\", \"prompt\": \"" + "a".repeat(10_001) + "\"}", "prompt is longer than 10000"},
                {"{\"checkpoint\": \"tiny@best\", \"message\": {}}", "message must be a string"},
        };
        for (String[] c : generation) {
            String path = c[0].contains("message") ? "/api/chat" : "/api/generate";
            HttpResponse<String> r = client.post(path, c[0]);
            assertEquals(400, r.statusCode(), c[0] + " -> " + r.body());
            assertTrue(client.json(r).get("error").asText().contains(c[1]), c[0] + " -> " + r.body());
        }
        byte[] latin1 = "{\"checkpoint\": \"tiny@best\", \"text\": \"caf\u00e9\"}".getBytes(StandardCharsets.ISO_8859_1);
        HttpResponse<String> r = client.http.send(HttpRequest.newBuilder(URI.create(client.base + "/api/next"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(latin1)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(400, r.statusCode());
        assertTrue(client.json(r).get("error").asText().contains("UTF-8"), r.body());
        HttpResponse<String> unknown = client.post("/api/generate", "{\"checkpoint\": \"nope@best\"}");
        assertEquals(404, unknown.statusCode());
        assertEquals(405, client.get("/api/next").statusCode());
        assertEquals(200, client.get("/api/runs").statusCode(), "still answering");
    }

    @Test
    void aFifthGenerationIsToldToRetryAndSlotsComeBackWhenClientsLeave() throws Exception {
        slowGeneration();
        String body = "{\"checkpoint\": \"tiny@best\", \"maxNewTokens\": 2000}";
        List<CompletableFuture<HttpResponse<InputStream>>> streams = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            streams.add(client.http.sendAsync(HttpRequest.newBuilder(URI.create(client.base + "/api/generate"))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofInputStream()));
        }
        for (long end = System.nanoTime() + 10_000_000_000L; server.activeGenerations() < 4 && System.nanoTime() < end; ) Thread.sleep(10);
        assertEquals(4, server.activeGenerations());
        HttpResponse<String> busy = client.post("/api/generate", body);
        assertEquals(429, busy.statusCode(), busy.body());
        assertEquals("2", busy.headers().firstValue("Retry-After").orElse(""));
        assertTrue(client.json(busy).get("error").asText().contains("busy"));
        HttpResponse<String> chat = client.post("/api/chat", "{\"checkpoint\": \"tiny@best\", \"message\": \"hi\"}");
        assertEquals(429, chat.statusCode(), "chats share the slots");
        assertEquals(200, client.post("/api/next", "{\"checkpoint\": \"tiny@best\"}").statusCode(), "the rest of the API still answers");
        for (var f : streams) f.get().body().close();
        waitForNoGenerations();
        List<Playground.Event> after = client.stream("/api/generate", "{\"checkpoint\": \"tiny@best\", \"maxNewTokens\": 3}");
        assertEquals("done", after.get(after.size() - 1).name());
    }

    @Test
    void aClientThatDisconnectsStopsItsGeneration() throws Exception {
        slowGeneration();
        tokens.set(0);
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            String body = "{\"checkpoint\": \"tiny@best\", \"maxNewTokens\": 2000}";
            OutputStream out = s.getOutputStream();
            out.write(("POST /api/generate HTTP/1.1\r\nHost: " + here() + "\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder seen = new StringBuilder();
            while (count(seen.toString(), "event: token") < 5) {
                int c = in.read();
                assertTrue(c >= 0);
                seen.append((char) c);
            }
            assertEquals(1, server.activeGenerations());
        } // closed: the page's Stop
        waitForNoGenerations();
        int stoppedAt = tokens.get();
        Thread.sleep(300);
        assertEquals(stoppedAt, tokens.get(), "no more characters after the disconnect");
        assertTrue(stoppedAt < 400, "stopped early: " + stoppedAt + " of 2000");
    }

    @Test
    void aGenerationStopsAtItsTimeLimit() throws Exception {
        try (PlaygroundServer quick = PlaygroundServer.start(PlaygroundServer.Options.defaults(runs).withPort(0).withGenerationMillis(300))) {
            slowGeneration();
            List<Playground.Event> events = new Playground.Client(quick).stream("/api/generate",
                    "{\"checkpoint\": \"tiny@best\", \"maxNewTokens\": 2000}");
            JsonNode done = events.get(events.size() - 1).data();
            assertEquals("time", done.get("reason").asText(), done.toString());
            int n = done.get("tokens").asInt();
            assertTrue(n > 5 && n < 2000, "tokens " + n);
            assertEquals(n, Playground.text(events).length());
            assertEquals(0, quick.activeGenerations());
        }
    }

    @Test
    void theEventFeedTakesAtMost64PagesAndOnlyEventStreamReaders() throws Exception {
        assertJsonError(get("/api/events", here()), 406);
        HttpRequest feed = HttpRequest.newBuilder(URI.create(client.base + "/api/events")).header("Accept", "text/event-stream").build();
        List<HttpResponse<InputStream>> open = new ArrayList<>();
        try {
            for (int i = 0; i < PlaygroundServer.MAX_SUBSCRIBERS; i++) {
                HttpResponse<InputStream> r = client.http.send(feed, HttpResponse.BodyHandlers.ofInputStream());
                assertEquals(200, r.statusCode());
                open.add(r);
            }
            for (long end = System.nanoTime() + 5_000_000_000L; server.subscribers() < PlaygroundServer.MAX_SUBSCRIBERS && System.nanoTime() < end; ) Thread.sleep(10);
            HttpResponse<String> refused = client.http.send(feed, HttpResponse.BodyHandlers.ofString());
            assertEquals(429, refused.statusCode(), refused.body());
        } finally {
            for (var r : open) r.body().close();
        }
        assertEquals(200, client.http.send(feed, HttpResponse.BodyHandlers.ofInputStream()).statusCode(), "pages that left free their place");
    }

    private static void waitForNoGenerations() throws InterruptedException {
        for (long end = System.nanoTime() + 5_000_000_000L; server.activeGenerations() > 0 && System.nanoTime() < end; ) Thread.sleep(10);
        assertEquals(0, server.activeGenerations(), "every generation stopped");
    }

    private static int count(String s, String part) {
        int n = 0;
        for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) n++;
        return n;
    }
}
