package dev.toygpt.web;

import com.fasterxml.jackson.databind.JsonNode;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.sample.Conversation;
import dev.toygpt.sample.Generator;
import dev.toygpt.sample.NextTokenSampler;
import dev.toygpt.sample.Prompt;
import dev.toygpt.sample.SamplingSettings;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.MetricsLog;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.TinyRuns;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every endpoint's answer, checked against the services the commands use. */
class PlaygroundApiTest {
    @TempDir
    static Path tmp;
    static Path runs;
    static PlaygroundServer server;
    static Playground.Client client;

    @BeforeAll
    static void start() throws Exception {
        runs = tmp.resolve("runs");
        int v = TinyRuns.corpus().vocabulary().size();
        Playground.trainGpt(runs.resolve("tiny"));
        Playground.train(runs.resolve("exp/bigram"), ModelConfig.bigram(v, 8), 20, 10);
        Playground.train(runs.resolve("exp/onehot"), ModelConfig.mlpOneHot(v, 16, 8), 20, 10);
        server = PlaygroundServer.start(PlaygroundServer.Options.defaults(runs).withPort(0));
        client = new Playground.Client(server);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    private static Checkpoint.Loaded best(String run) {
        return Checkpoint.load(new RunDirectory(runs.resolve(run)).best());
    }

    @Test
    void runsListsEveryRunWithItsModelLossesAndCheckpoints() throws Exception {
        JsonNode all = client.getJson("/api/runs");
        assertEquals(runs.toString(), all.get("runsDir").asText());
        JsonNode list = all.get("runs");
        List<String> ids0 = list.findValuesAsText("id").stream().filter(id -> !id.contains("@")).toList();
        assertTrue(ids0.containsAll(List.of("exp/bigram", "exp/onehot", "tiny")), ids0.toString());
        assertEquals(ids0.stream().sorted().toList(), ids0, "sorted by id");
        JsonNode tiny = run(list, "tiny");
        Checkpoint.Loaded loaded = best("tiny");
        assertEquals("gpt", tiny.get("model").asText());
        assertEquals(loaded.model().parameterCount(), tiny.get("parameters").asLong());
        assertEquals(8, tiny.get("config").get("blockSize").asInt());
        assertEquals(2, tiny.get("config").get("nHead").asInt());
        assertEquals(40, tiny.get("step").asLong());
        assertEquals(40, tiny.get("maxIters").asInt());
        List<MetricsLog.Row> rows = MetricsLog.read(runs.resolve("tiny/metrics.csv"));
        double best = rows.stream().mapToDouble(MetricsLog.Row::valLoss).min().orElseThrow();
        assertEquals(best, tiny.get("bestValLoss").asDouble(), 1e-5);
        assertEquals(rows.get(rows.size() - 1).trainLoss(), tiny.get("lastTrainLoss").asDouble(), 1e-9);
        assertFalse(tiny.get("training").asBoolean() && System.currentTimeMillis() - tiny.get("updated").asLong() > 60_000);
        List<String> ids = tiny.get("checkpoints").findValuesAsText("id");
        assertEquals("tiny@best", ids.get(0));
        assertEquals("tiny@last", ids.get(1));
        assertTrue(ids.contains("tiny@step-000040"), ids.toString());
        assertTrue(tiny.get("checkpoints").get(1).get("label").asText().startsWith("last · step 40 · val "), tiny.toString());
        assertEquals("bigram", run(list, "exp/bigram").get("model").asText());
    }

    @Test
    void theLatestSampleIsTheBestCheckpointsTextForTheFixedSeed() throws Exception {
        Checkpoint.Loaded loaded = best("tiny");
        String expected = loaded.vocabulary().decode(new Generator(loaded.model(), new NextTokenSampler(SamplingSettings.defaults()))
                .generate(Prompt.start(loaded.vocabulary()).ids(), Catalog.SAMPLE_CHARS, new Rng(Catalog.SAMPLE_SEED), (java.util.function.IntConsumer) null));
        String sample = null;
        for (long end = System.nanoTime() + 20_000_000_000L; System.nanoTime() < end; Thread.sleep(100)) {
            JsonNode s = run(client.getJson("/api/runs").get("runs"), "tiny").get("sample");
            if (!s.isNull()) {
                sample = s.asText();
                break;
            }
        }
        assertEquals(expected, sample);
    }

    @Test
    void metricsAreTheRowsOfMetricsCsvAndNestedIdsWorkEncodedOrNot() throws Exception {
        JsonNode m = client.getJson("/api/runs/tiny/metrics");
        List<MetricsLog.Row> rows = MetricsLog.read(runs.resolve("tiny/metrics.csv"));
        assertEquals(rows.size(), m.get("rows").size());
        for (int i = 0; i < rows.size(); i++) {
            assertEquals(rows.get(i).step(), m.get("rows").get(i).get("step").asLong());
            assertEquals(rows.get(i).valLoss(), m.get("rows").get(i).get("valLoss").asDouble(), 1e-9);
            assertEquals(rows.get(i).lr(), m.get("rows").get(i).get("lr").asDouble(), 1e-12);
        }
        JsonNode encoded = client.getJson("/api/runs/exp%2Fbigram/metrics");
        assertEquals("exp/bigram", encoded.get("id").asText());
        assertEquals(MetricsLog.read(runs.resolve("exp/bigram/metrics.csv")).size(), encoded.get("rows").size());
        assertEquals("exp/bigram", client.getJson("/api/runs/exp/bigram/metrics").get("id").asText());
        assertEquals(404, client.get("/api/runs/nope/metrics").statusCode());
    }

    @Test
    void generateStreamsExactlyWhatTheGeneratorWritesForTheSameSeed() throws Exception {
        Checkpoint.Loaded loaded = best("tiny");
        SamplingSettings settings = new SamplingSettings(0.8f, 5, 0.95f, false);
        Prompt prompt = Prompt.encode("the kin", loaded.vocabulary());
        Generator g = new Generator(loaded.model(), new NextTokenSampler(settings));
        StringBuilder expected = new StringBuilder();
        java.util.List<Double> probs = new java.util.ArrayList<>();
        g.generateWithProbabilities(prompt.ids(), 60, new Rng(99), (id, p) -> {
            expected.append(loaded.vocabulary().decode(id));
            probs.add(p);
        });
        List<Playground.Event> events = client.stream("/api/generate", "{\"checkpoint\": \"tiny@best\", \"prompt\": \"the kin\", "
                + "\"maxNewTokens\": 60, \"temperature\": 0.8, \"topK\": 5, \"topP\": 0.95, \"seed\": 99}");
        assertEquals("start", events.get(0).name());
        assertEquals("the kin", events.get(0).data().get("prompt").asText());
        assertTrue(events.get(0).data().get("dropped").isNull());
        assertEquals(expected.toString(), Playground.text(events));
        int t = 0;
        for (Playground.Event e : events) {
            if (!e.name().equals("token")) continue;
            double p = e.data().get("p").asDouble();
            assertEquals(probs.get(t++), p, 1e-6);
            assertTrue(p > 0 && p <= 1, "p " + p);
        }
        Playground.Event done = events.get(events.size() - 1);
        assertEquals("done", done.name());
        assertEquals("length", done.data().get("reason").asText());
        assertEquals(60, done.data().get("tokens").asInt());
    }

    @Test
    void generateDropsUnknownCharactersAndGreedyTokensHaveProbabilityOne() throws Exception {
        List<Playground.Event> events = client.stream("/api/generate",
                "{\"checkpoint\": \"tiny@last\", \"prompt\": \"the Zé king\", \"maxNewTokens\": 10, \"greedy\": true}");
        assertEquals("the  king", events.get(0).data().get("prompt").asText());
        assertTrue(events.get(0).data().get("dropped").asText().contains("2 characters not in the vocabulary"), events.get(0).data().toString());
        for (Playground.Event e : events) if (e.name().equals("token")) assertEquals(1.0, e.data().get("p").asDouble());
        assertEquals(10, Playground.text(events).length());
    }

    @Test
    void chatRepliesAsTheChatCommandDoesAndSaysWhenTheConversationIsCropped() throws Exception {
        Checkpoint.Loaded loaded = best("tiny");
        Conversation c = Conversation.resume(loaded.model(), loaded.vocabulary(), "the king\n");
        Conversation.Turn turn = c.add("my lord");
        String expected = c.reply(new Generator(loaded.model(), new NextTokenSampler(SamplingSettings.defaults())), turn, 40, new Rng(5), (id, p) -> { });
        List<Playground.Event> events = client.stream("/api/chat", "{\"checkpoint\": \"tiny@best\", \"conversation\": \"the king\\n\", "
                + "\"message\": \"my lord\", \"maxNewTokens\": 40, \"seed\": 5}");
        assertEquals("my lord\n", events.get(0).data().get("prompt").asText());
        assertEquals("notice", events.get(1).name(), "9 + 8 characters do not fit in 8");
        assertTrue(events.get(1).data().get("text").asText().contains("it now sees only the last 8 characters"));
        assertEquals(expected, Playground.text(events));
        assertTrue(expected.length() == 40 || expected.endsWith("\n\n"), "a reply ends at a blank line or its length: " + expected);

        List<Playground.Event> short_ = client.stream("/api/chat", "{\"checkpoint\": \"tiny@best\", \"message\": \"no\", \"maxNewTokens\": 3}");
        assertTrue(short_.stream().noneMatch(e -> e.name().equals("notice")), "3 + 3 characters fit in 8");
    }

    @Test
    void nextGivesTheSamplersDistributionsWhichTheKnobsReshape() throws Exception {
        JsonNode plain = client.postJson("/api/next", "{\"checkpoint\": \"tiny@best\", \"text\": \"the king and\"}");
        assertEquals("king and", plain.get("context").asText(), "the last block_size characters");
        int v = plain.get("vocab").size();
        assertEquals(TinyRuns.corpus().vocabulary().size(), v);
        assertEquals(1.0, sum(plain.get("probs")), 1e-4);
        assertEquals(1.0, sum(plain.get("rawProbs")), 1e-4);
        for (int i = 0; i < v; i++) assertEquals(plain.get("rawProbs").get(i).asDouble(), plain.get("probs").get(i).asDouble(), 1e-6);
        double topSum = 0;
        for (JsonNode t : plain.get("top")) topSum += t.get("p").asDouble();
        assertEquals(10, plain.get("top").size());
        assertEquals(1.0, topSum + plain.get("rest").asDouble(), 1e-5);
        assertTrue(plain.get("top").get(0).get("p").asDouble() >= plain.get("top").get(1).get("p").asDouble());

        // the same logits as the model gives directly
        Checkpoint.Loaded loaded = best("tiny");
        float[] logits = Generator.nextLogits(loaded.model(), loaded.vocabulary().encode("king and"));
        float[] expected = new NextTokenSampler(SamplingSettings.defaults()).probabilities(logits, 0, v);
        for (int i = 0; i < v; i++) assertEquals(expected[i], plain.get("rawProbs").get(i).floatValue(), 1e-6);

        JsonNode cold = client.postJson("/api/next", "{\"checkpoint\": \"tiny@best\", \"text\": \"the king and\", \"temperature\": 0.5}");
        JsonNode hot = client.postJson("/api/next", "{\"checkpoint\": \"tiny@best\", \"text\": \"the king and\", \"temperature\": 2.0}");
        int top = plain.get("top").get(0).get("id").asInt();
        assertTrue(cold.get("probs").get(top).asDouble() > plain.get("probs").get(top).asDouble());
        assertTrue(hot.get("probs").get(top).asDouble() < plain.get("probs").get(top).asDouble());
        assertEquals(plain.get("rawProbs"), cold.get("rawProbs"), "rawProbs stay at temperature 1");
        assertEquals(1.0, sum(cold.get("probs")), 1e-4);

        JsonNode k3 = client.postJson("/api/next", "{\"checkpoint\": \"tiny@best\", \"text\": \"the king and\", \"topK\": 3}");
        long nonZero = 0;
        for (JsonNode p : k3.get("probs")) if (p.asDouble() > 0) nonZero++;
        assertEquals(3, nonZero);
        assertEquals(0.0, k3.get("rest").asDouble(), 1e-6);

        JsonNode greedy = client.postJson("/api/next", "{\"checkpoint\": \"tiny@best\", \"text\": \"the king and\", \"greedy\": true}");
        assertEquals(1.0, greedy.get("probs").get(top).asDouble());
        assertEquals(1.0, sum(greedy.get("probs")));
        assertFalse(greedy.has("drawn"));

        JsonNode drawn = client.postJson("/api/next", "{\"checkpoint\": \"tiny@best\", \"text\": \"the king and\", \"draw\": true, \"seed\": 3}");
        int expectedDraw = new NextTokenSampler(SamplingSettings.defaults()).sample(logits, 0, v, new Rng(3));
        assertEquals(expectedDraw, drawn.get("drawn").get("id").asInt());
        assertEquals(drawn.get("probs").get(expectedDraw).floatValue(), drawn.get("drawn").get("p").floatValue(), 1e-7);
        assertEquals(loaded.vocabulary().decode(expectedDraw), drawn.get("drawn").get("char").asText());

        JsonNode empty = client.postJson("/api/next", "{\"checkpoint\": \"tiny@best\"}");
        assertEquals("\n", empty.get("context").asText(), "no text: the start token");
    }

    @Test
    void attentionIsCausalWithRowsSummingToOneForTheLastBlockOfText() throws Exception {
        JsonNode a = client.postJson("/api/attention", "{\"checkpoint\": \"tiny@best\", \"text\": \"speak, gentle lord\"}");
        StringBuilder tokens = new StringBuilder();
        for (JsonNode t : a.get("tokens")) tokens.append(t.asText());
        assertEquals(8, a.get("tokens").size());
        assertEquals("tle lord", tokens.toString());
        assertEquals(1, a.get("nLayer").asInt());
        assertEquals(2, a.get("nHead").asInt());
        JsonNode w = a.get("weights");
        assertEquals(1, w.size());
        assertEquals(2, w.get(0).size());
        boolean headsDiffer = false;
        for (JsonNode head : w.get(0)) {
            assertEquals(8, head.size());
            for (int q = 0; q < 8; q++) {
                assertEquals(8, head.get(q).size());
                assertEquals(1.0, sum(head.get(q)), 1e-5);
                for (int k = q + 1; k < 8; k++) assertEquals(0.0, head.get(q).get(k).asDouble(), "causal: " + q + "," + k);
                for (int k = 0; k <= q; k++) assertTrue(head.get(q).get(k).asDouble() > 0);
            }
            if (!head.equals(w.get(0).get(0))) headsDiffer = true;
        }
        assertTrue(headsDiffer, "two heads, two maps");

        HttpResponse<String> bigram = client.post("/api/attention", "{\"checkpoint\": \"exp/bigram@best\", \"text\": \"the\"}");
        assertEquals(400, bigram.statusCode());
        assertTrue(client.json(bigram).get("error").asText().contains("only the GPT has attention"), bigram.body());
    }

    @Test
    void embeddingsProjectEveryCharacterOfTheTable() throws Exception {
        JsonNode e = client.getJson("/api/embeddings?checkpoint=tiny@best");
        int v = TinyRuns.corpus().vocabulary().size();
        assertEquals(v, e.get("chars").size());
        assertEquals(v, e.get("points").size());
        double e1 = e.get("explained").get(0).asDouble(), e2 = e.get("explained").get(1).asDouble();
        assertTrue(e1 >= e2 && e2 > 0 && e1 + e2 <= 1.0 + 1e-9, e1 + " " + e2);
        double spreadX = 0, spreadY = 0;
        for (JsonNode p : e.get("points")) {
            spreadX += p.get(0).asDouble() * p.get(0).asDouble();
            spreadY += p.get(1).asDouble() * p.get(1).asDouble();
        }
        assertTrue(spreadX >= spreadY, "the first component carries more variance");

        assertEquals(200, client.get("/api/embeddings?checkpoint=exp%2Fbigram@best").statusCode());
        HttpResponse<String> onehot = client.get("/api/embeddings?checkpoint=exp/onehot@best");
        assertEquals(400, onehot.statusCode());
        assertTrue(client.json(onehot).get("error").asText().contains("no token embedding table"), onehot.body());
        assertEquals(400, client.get("/api/embeddings").statusCode());
    }

    @Test
    void theEventFeedSendsNewMetricsRowsWithinTwoSeconds() throws Exception {
        BlockingQueue<String> lines = new ArrayBlockingQueue<>(1000);
        HttpRequest req = HttpRequest.newBuilder(URI.create(client.base + "/api/events")).header("Accept", "text/event-stream").GET().build();
        HttpResponse<InputStream> r = client.http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"), r.headers().map().toString());
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) lines.put(line);
            } catch (Exception ignored) {
                // closed by the test
            }
        });
        reader.setDaemon(true);
        reader.start();
        try {
            assertEquals(": connected", lines.poll(10, TimeUnit.SECONDS));
            for (long end = System.nanoTime() + 5_000_000_000L; server.subscribers() == 0 && System.nanoTime() < end; ) Thread.sleep(10);
            Path metrics = runs.resolve("exp/onehot/metrics.csv");
            long written = System.nanoTime();
            Files.writeString(metrics, "777,2.5,2.6,0.001,12.5\n", StandardOpenOption.APPEND);
            String data = null;
            while (true) {
                String line = lines.poll(Math.max(1, 2_000_000_000L - (System.nanoTime() - written)), TimeUnit.NANOSECONDS);
                assertNotNull(line, "no metrics event within 2 s");
                if (line.equals("event: metrics")) {
                    data = lines.poll(1, TimeUnit.SECONDS);
                    break;
                }
            }
            assertTrue(System.nanoTime() - written < 2_000_000_000L);
            JsonNode d = Playground.JSON.readTree(data.substring("data: ".length()));
            assertEquals("exp/onehot", d.get("id").asText());
            assertEquals(1, d.get("rows").size(), "only the new row");
            assertEquals(777, d.get("rows").get(0).get("step").asLong());
            assertEquals(2.6, d.get("rows").get(0).get("valLoss").asDouble(), 1e-12);

            // a new run appears: a runs event lists it
            Playground.train(runs.resolve("late"), ModelConfig.bigram(TinyRuns.corpus().vocabulary().size(), 8), 10, 10);
            String runsData = null;
            for (long end = System.nanoTime() + 5_000_000_000L; runsData == null && System.nanoTime() < end; ) {
                String line = lines.poll(100, TimeUnit.MILLISECONDS);
                if ("event: runs".equals(line)) {
                    String next = lines.poll(1, TimeUnit.SECONDS);
                    if (next.contains("\"late\"")) runsData = next;
                }
            }
            assertNotNull(runsData, "a runs event with the new run");
        } finally {
            r.body().close();
        }
    }

    @Test
    void uPlotComesFromItsWebJarAndUnknownPathsAreJson404s() throws Exception {
        HttpResponse<String> js = client.get("/webjars/uplot/1.6.30/dist/uPlot.iife.min.js");
        assertEquals(200, js.statusCode());
        assertTrue(js.body().contains("uPlot"));
        assertTrue(js.headers().firstValue("Content-Type").orElse("").contains("javascript"));
        assertEquals(200, client.get("/webjars/uplot/1.6.30/dist/uPlot.min.css").statusCode());
        HttpResponse<String> missing = client.get("/api/nothing");
        assertEquals(404, missing.statusCode());
        assertTrue(client.json(missing).has("error"));
        if (PlaygroundServer.class.getResource("/web/index.html") != null) {
            HttpResponse<String> page = client.get("/");
            assertEquals(200, page.statusCode());
            assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        }
    }

    @Test
    void aNewerLastCheckpointIsLoadedAfresh() throws Exception {
        JsonNode before = client.postJson("/api/next", "{\"checkpoint\": \"exp/bigram@last\", \"text\": \"k\"}");
        // train the run on: a new last checkpoint with other weights
        Path run = runs.resolve("exp/bigram2");
        Playground.train(run, ModelConfig.bigram(TinyRuns.corpus().vocabulary().size(), 8), 20, 10);
        JsonNode first = client.postJson("/api/next", "{\"checkpoint\": \"exp/bigram2@last\", \"text\": \"k\"}");
        var settings = TinyRuns.settings(40, 10, 7);
        var model = Checkpoint.load(new RunDirectory(run).last()).model();
        var trainer = TinyRuns.trainer(model, settings, new RunDirectory(run), new dev.toygpt.train.Trainer.Listener() { });
        trainer.resumeFrom(new RunDirectory(run).last());
        trainer.run();
        JsonNode second = client.postJson("/api/next", "{\"checkpoint\": \"exp/bigram2@last\", \"text\": \"k\"}");
        assertNotEquals(first.get("rawProbs"), second.get("rawProbs"));
        assertEquals(before.get("vocab"), second.get("vocab"));
    }

    @Test
    void theListingIsFreshTheMomentATrainerHasWritten() throws Exception {
        // no waiting for the event poll: a page that asks right after a save sees the new last checkpoint
        Path run = runs.resolve("exp/fresh");
        Playground.train(run, ModelConfig.bigram(TinyRuns.corpus().vocabulary().size(), 8), 20, 10);
        assertEquals(20, run(client.getJson("/api/runs").get("runs"), "exp/fresh").get("step").asLong());
        var settings = TinyRuns.settings(40, 10, 7);
        var model = Checkpoint.load(new RunDirectory(run).last()).model();
        var trainer = TinyRuns.trainer(model, settings, new RunDirectory(run), new dev.toygpt.train.Trainer.Listener() { });
        trainer.resumeFrom(new RunDirectory(run).last());
        trainer.run();
        JsonNode fresh = run(client.getJson("/api/runs").get("runs"), "exp/fresh");
        assertEquals(40, fresh.get("step").asLong(), fresh.toString());
        assertEquals("bigram", fresh.get("model").asText(), fresh.toString());
        assertEquals(40, fresh.get("maxIters").asInt(), fresh.toString());
        assertTrue(fresh.get("checkpoints").get(1).get("label").asText().startsWith("last · step 40"), fresh.toString());
    }

    private static JsonNode run(JsonNode list, String id) {
        for (JsonNode r : list) if (r.get("id").asText().equals(id)) return r;
        throw new AssertionError("no run " + id + " in " + list);
    }

    private static double sum(JsonNode array) {
        double s = 0;
        for (JsonNode x : array) s += x.asDouble();
        return s;
    }
}
