package dev.toygpt.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.TinyRuns;
import dev.toygpt.train.TrainSettings;
import dev.toygpt.train.Trainer;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Helpers for the web tests: tiny runs trained in a few hundred milliseconds, and an HTTP client. */
final class Playground {
    static final ObjectMapper JSON = new ObjectMapper();

    private Playground() {}

    /** Trains a tiny one-layer GPT (block size 8) into dir: checkpoints at steps 20 and 40. */
    static Path trainGpt(Path dir) throws IOException {
        return train(dir, TinyRuns.gpt(TinyRuns.corpus().vocabulary().size(), 0f), 40, 20);
    }

    static Path train(Path dir, ModelConfig config, int steps, int evalInterval) throws IOException {
        TrainSettings settings = TinyRuns.settings(steps, evalInterval, 7);
        LanguageModel model = TinyRuns.model(config, settings);
        Trainer trainer = TinyRuns.trainer(model, settings, new RunDirectory(dir), new Trainer.Listener() { });
        trainer.run();
        return dir;
    }

    /** A client for one server. */
    static final class Client {
        final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        final String base;

        Client(PlaygroundServer server) {
            base = "http://127.0.0.1:" + server.port();
        }

        HttpResponse<String> get(String path) throws IOException, InterruptedException {
            return http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).GET().build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        }

        HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
            return http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        }

        JsonNode json(HttpResponse<String> r) throws IOException {
            return JSON.readTree(r.body());
        }

        JsonNode getJson(String path) throws IOException, InterruptedException {
            HttpResponse<String> r = get(path);
            if (r.statusCode() != 200) throw new AssertionError(path + " -> " + r.statusCode() + " " + r.body());
            return JSON.readTree(r.body());
        }

        JsonNode postJson(String path, String body) throws IOException, InterruptedException {
            HttpResponse<String> r = post(path, body);
            if (r.statusCode() != 200) throw new AssertionError(path + " -> " + r.statusCode() + " " + r.body());
            return JSON.readTree(r.body());
        }

        /** The events of a complete stream (a generate or chat answer). */
        List<Event> stream(String path, String body) throws IOException, InterruptedException {
            HttpResponse<String> r = post(path, body);
            if (r.statusCode() != 200) throw new AssertionError(path + " -> " + r.statusCode() + " " + r.body());
            if (!r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream")) {
                throw new AssertionError("not an event stream: " + r.headers().map());
            }
            return parseEvents(r.body());
        }
    }

    /** One server-sent event. */
    record Event(String name, JsonNode data) {}

    static List<Event> parseEvents(String text) throws IOException {
        List<Event> events = new ArrayList<>();
        for (String block : text.split("\n\n")) {
            String name = null, data = null;
            for (String line : block.split("\n")) {
                if (line.startsWith("event: ")) name = line.substring(7);
                else if (line.startsWith("data: ")) data = line.substring(6);
            }
            if (name != null) events.add(new Event(name, JSON.readTree(data)));
        }
        return events;
    }

    /** The generated text of a stream: its token events' characters in order. */
    static String text(List<Event> events) {
        StringBuilder sb = new StringBuilder();
        for (Event e : events) if (e.name().equals("token")) sb.append(e.data().get("text").asText());
        return sb.toString();
    }

    static String readAll(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
}
