package dev.toygpt.web;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toygpt.inspect.AttentionMaps;
import dev.toygpt.inspect.EmbeddingMap;
import dev.toygpt.models.Gpt;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.sample.Conversation;
import dev.toygpt.sample.Generator;
import dev.toygpt.sample.NextTokenDistribution;
import dev.toygpt.sample.NextTokenSampler;
import dev.toygpt.sample.Prompt;
import dev.toygpt.sample.SamplingSettings;
import dev.toygpt.text.Vocabulary;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.RunIndex;
import dev.toygpt.train.RunSummary;
import dev.toygpt.util.Rng;
import io.javalin.http.Context;

import java.io.IOException;
import java.util.List;

/**
 * The JSON API under /api/ (docs/api.md). Each handler reads and checks its request, then calls the same
 * services as the commands: {@link Generator} and {@link Conversation} (sample, chat),
 * {@link NextTokenDistribution}, {@link AttentionMaps}, {@link EmbeddingMap}.
 */
final class Api {
    /** Run before each streamed character when set: the tests slow generation down with it to watch the limits. */
    static volatile Runnable pacer;

    private final PlaygroundServer.Options options;
    private final Catalog catalog;
    private final Generations generations;
    private final Decoders decoders = new Decoders();

    Api(PlaygroundServer.Options options, Catalog catalog, Generations generations) {
        this.options = options;
        this.catalog = catalog;
        this.generations = generations;
    }

    // ---- runs and metrics

    void runs(Context ctx) {
        ObjectNode out = JsonBody.JSON.createObjectNode();
        out.put("runsDir", options.runsDir().toString());
        ArrayNode runs = out.putArray("runs");
        catalog.runs().forEach(runs::add);
        json(ctx, out);
    }

    void metrics(Context ctx) {
        String id = ctx.pathParam("id");
        RunIndex.Run run = catalog.run(id);
        ObjectNode out = JsonBody.JSON.createObjectNode();
        out.put("id", run.id());
        out.set("rows", Events.rowsJson(RunSummary.readMetrics(run.metricsFile())));
        json(ctx, out);
    }

    // ---- writing

    void generate(Context ctx) {
        JsonBody body = body(ctx);
        String checkpoint = body.requiredString("checkpoint", 1000);
        String prompt = body.string("prompt", "", options.maxTextChars());
        int maxNewTokens = body.integer("maxNewTokens", 500, 1, options.maxNewTokens());
        SamplingSettings settings = body.sampling();
        long seed = body.longValue("seed", 1337);
        Checkpoint.Loaded loaded = catalog.load(checkpoint);
        Prompt p = Prompt.encode(prompt, loaded.vocabulary());
        stream(ctx, (events, deadline) -> {
            ObjectNode start = JsonBody.JSON.createObjectNode();
            start.put("prompt", p.text());
            start.put("dropped", p.dropped());
            events.send("start", start);
            Generator generator = new Generator(loaded.model(), new NextTokenSampler(settings));
            int[] count = {0};
            String reason = run(() -> generator.generateWithProbabilities(p.ids(), maxNewTokens, new Rng(seed),
                    tokens(events, deadline, loaded, count)));
            done(events, reason, count[0]);
        });
    }

    void chat(Context ctx) {
        JsonBody body = body(ctx);
        String checkpoint = body.requiredString("checkpoint", 1000);
        String soFar = body.string("conversation", "", options.maxTextChars());
        String message = body.string("message", "", options.maxTextChars());
        int maxNewTokens = body.integer("maxNewTokens", 300, 1, options.maxNewTokens());
        SamplingSettings settings = body.sampling();
        long seed = body.longValue("seed", 1337);
        Checkpoint.Loaded loaded = catalog.load(checkpoint);
        Conversation conversation = Conversation.resume(loaded.model(), loaded.vocabulary(), soFar);
        Conversation.Turn turn = conversation.add(message);
        stream(ctx, (events, deadline) -> {
            ObjectNode start = JsonBody.JSON.createObjectNode();
            start.put("prompt", turn.line().text());
            start.put("dropped", turn.line().dropped());
            events.send("start", start);
            if (turn.cropped()) {
                ObjectNode notice = JsonBody.JSON.createObjectNode();
                notice.put("text", Conversation.cropNotice(conversation.window()));
                events.send("notice", notice);
            }
            Generator generator = new Generator(loaded.model(), new NextTokenSampler(settings));
            int[] count = {0};
            String reason = run(() -> conversation.reply(generator, turn, maxNewTokens, new Rng(seed), tokens(events, deadline, loaded, count)));
            done(events, reason, count[0]);
        });
    }

    // ---- one step at a time, inside the model

    void next(Context ctx) {
        JsonBody body = body(ctx);
        String checkpoint = body.requiredString("checkpoint", 1000);
        String text = body.string("text", "", options.maxTextChars());
        SamplingSettings settings = body.sampling();
        boolean draw = body.bool("draw", false);
        long seed = body.longValue("seed", 1337);
        Checkpoint.Loaded loaded = catalog.load(checkpoint);
        Vocabulary vocab = loaded.vocabulary();
        NextTokenDistribution d = NextTokenDistribution.of(loaded.model(), Prompt.encode(text, vocab).ids(), settings,
                draw ? seed : null);
        ObjectNode out = JsonBody.JSON.createObjectNode();
        out.put("context", vocab.decode(d.context()));
        ArrayNode chars = out.putArray("vocab");
        NextTokenDistribution.characters(vocab).forEach(chars::add);
        ArrayNode probs = out.putArray("probs");
        for (float f : d.probs()) probs.add(f);
        ArrayNode raw = out.putArray("rawProbs");
        for (float f : d.rawProbs()) raw.add(f);
        ArrayNode top = out.putArray("top");
        for (int id : d.top(10)) top.add(token(vocab, id, d.probs()[id]));
        out.put("rest", d.rest(10));
        if (d.drawn() >= 0) out.set("drawn", token(vocab, d.drawn(), d.probs()[d.drawn()]));
        json(ctx, out);
    }

    void attention(Context ctx) {
        JsonBody body = body(ctx);
        String checkpoint = body.requiredString("checkpoint", 1000);
        String text = body.string("text", "", options.maxTextChars());
        Checkpoint.Loaded loaded = catalog.load(checkpoint);
        if (!(loaded.model() instanceof Gpt gpt)) {
            throw ApiException.badRequest("only the GPT has attention; this checkpoint is a " + loaded.model().config().kind() + " model");
        }
        Vocabulary vocab = loaded.vocabulary();
        int[] ids = Prompt.lastTokens(Prompt.encode(text, vocab).ids(), gpt.config().blockSize());
        AttentionMaps maps = decoders.with(loaded, gpt, decoder -> AttentionMaps.of(decoder, gpt, ids));
        // Written straight to bytes, not as a tree: a full block of the seed model is 16,384 weights.
        var bytes = new java.io.ByteArrayOutputStream(64 * 1024);
        try (var g = JsonBody.JSON.getFactory().createGenerator(bytes)) {
            g.writeStartObject();
            g.writeArrayFieldStart("tokens");
            for (int id : ids) g.writeString(vocab.decode(id));
            g.writeEndArray();
            g.writeNumberField("nLayer", maps.layers());
            g.writeNumberField("nHead", maps.heads());
            g.writeArrayFieldStart("weights");
            for (float[][][] layer : maps.weights()) {
                g.writeStartArray();
                for (float[][] head : layer) {
                    g.writeStartArray();
                    for (float[] row : head) {
                        g.writeStartArray();
                        for (float w : row) g.writeNumber(w);
                        g.writeEndArray();
                    }
                    g.writeEndArray();
                }
                g.writeEndArray();
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        ctx.contentType("application/json;charset=utf-8").result(bytes.toByteArray());
    }

    void embeddings(Context ctx) {
        String checkpoint = ctx.queryParam("checkpoint");
        if (checkpoint == null || checkpoint.isEmpty()) throw ApiException.badRequest("checkpoint is missing (?checkpoint=RUN@best)");
        Checkpoint.Loaded loaded = catalog.load(checkpoint);
        LanguageModel model = loaded.model();
        if (!EmbeddingMap.hasTable(model)) {
            throw ApiException.badRequest("the " + model.config().kind() + " model has no token embedding table");
        }
        EmbeddingMap map = EmbeddingMap.of(model);
        ObjectNode out = JsonBody.JSON.createObjectNode();
        ArrayNode chars = out.putArray("chars");
        NextTokenDistribution.characters(loaded.vocabulary()).forEach(chars::add);
        ArrayNode points = out.putArray("points");
        for (float[] p : map.points()) points.addArray().add(p[0]).add(p[1]);
        out.putArray("explained").add(map.explained()[0]).add(map.explained()[1]);
        json(ctx, out);
    }

    // ---- helpers

    private JsonBody body(Context ctx) {
        try {
            return JsonBody.read(ctx.req().getInputStream(), options.maxBodyBytes());
        } catch (IOException e) {
            throw ApiException.badRequest("could not read the request body");
        }
    }

    private static void pace() {
        Runnable p = pacer;
        if (p != null) p.run();
    }

    private static ObjectNode token(Vocabulary vocab, int id, double p) {
        ObjectNode t = JsonBody.JSON.createObjectNode();
        t.put("text", vocab.decode(id));
        t.put("char", vocab.decode(id));
        t.put("id", id);
        t.put("p", (float) p);
        return t;
    }

    private static void done(EventStream events, String reason, int tokens) {
        ObjectNode d = JsonBody.JSON.createObjectNode();
        d.put("reason", reason);
        d.put("tokens", tokens);
        events.send("done", d);
    }

    /** Runs a generation to its end and says why it ended: "length" (or a reply's end), or "time". */
    private static String run(Runnable generation) {
        try {
            generation.run();
            return "length";
        } catch (Deadline.TimeUp e) {
            return "time";
        }
    }

    /** Sends each generated character as a token event, within the deadline; counts them for the done event. */
    private Generator.TokenListener tokens(EventStream events, Deadline deadline, Checkpoint.Loaded loaded, int[] count) {
        return (id, prob) -> {
            pace();
            deadline.check();
            events.token(id, loaded.vocabulary().decode(id), prob);
            count[0]++;
        };
    }

    private interface Streamed {
        void write(EventStream events, Deadline deadline);
    }

    /** A generation's time limit, checked before each character. */
    static final class Deadline {
        static final class TimeUp extends RuntimeException {
            TimeUp() {
                super(null, null, false, false);
            }
        }

        private final long end;

        Deadline(long millis) {
            end = System.nanoTime() + millis * 1_000_000;
        }

        void check() {
            if (System.nanoTime() - end > 0) throw new TimeUp();
        }
    }

    /**
     * Takes a generation slot (429 with Retry-After when all are taken), then streams events until the
     * generation ends or the client goes away; the slot is given back in every case.
     */
    private void stream(Context ctx, Streamed body) {
        Generations.Slot slot = generations.tryAcquire();
        if (slot == null) {
            ctx.header("Retry-After", "2");
            throw new ApiException(429, "the server is busy with " + options.maxGenerations()
                    + " generations; try again in a moment");
        }
        try (slot) {
            var res = ctx.res();
            res.setStatus(200);
            res.setContentType("text/event-stream;charset=utf-8");
            res.setHeader("Cache-Control", "no-cache");
            res.setHeader("X-Accel-Buffering", "no");
            EventStream events;
            try {
                events = new EventStream(res.getOutputStream());
            } catch (IOException e) {
                return;
            }
            try {
                body.write(events, new Deadline(options.generationMillis()));
            } catch (EventStream.Gone gone) {
                // the page stopped reading: the generation stops here
            } catch (RuntimeException e) {
                try {
                    ObjectNode err = JsonBody.JSON.createObjectNode();
                    err.put("error", PlaygroundServer.describe(e));
                    events.send("error", err);
                } catch (EventStream.Gone gone) {
                    // nobody to tell
                }
            }
        }
    }

    private static void json(Context ctx, ObjectNode node) {
        try {
            ctx.contentType("application/json;charset=utf-8").result(JsonBody.JSON.writeValueAsBytes(node));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<String> endpoints() {
        return List.of("/api/runs", "/api/runs/{id}/metrics", "/api/events", "/api/generate", "/api/chat", "/api/next",
                "/api/attention", "/api/embeddings");
    }
}
