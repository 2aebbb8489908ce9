package dev.toygpt.train;

import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.text.Corpus;
import dev.toygpt.util.Rng;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/** Small texts, models and settings for tests that train: everything here runs in well under a second. */
public final class TinyRuns {
    private TinyRuns() {}

    private static final String[] WORDS = {"the", "king", "and", "queen", "of", "night", "speak", "gentle", "lord",
            "my", "heart", "is", "true", "what", "say", "you", "sweet", "fair", "come", "hither", "no", "more"};

    /** A few thousand characters of made-up verse, always the same. */
    public static String text() {
        Rng rng = new Rng(42);
        StringBuilder sb = new StringBuilder();
        while (sb.length() < 6000) {
            int words = 4 + rng.nextInt(5);
            StringBuilder line = new StringBuilder();
            for (int w = 0; w < words; w++) {
                if (w > 0) line.append(' ');
                line.append(WORDS[rng.nextInt(WORDS.length)]);
            }
            line.setCharAt(0, Character.toUpperCase(line.charAt(0)));
            line.append(rng.nextInt(3) == 0 ? "!" : rng.nextInt(2) == 0 ? "," : ".");
            sb.append(line).append('\n');
            if (rng.nextInt(4) == 0) sb.append('\n');
        }
        return sb.toString();
    }

    /** Writes {@link #text()} to dir/verse.txt and returns its path. */
    public static Path writeText(Path dir) throws IOException {
        Path file = dir.resolve("verse.txt");
        Files.writeString(file, text(), StandardCharsets.UTF_8);
        return file;
    }

    public static Corpus corpus() {
        return Corpus.of("verse", text());
    }

    /** A one-layer GPT: n_embd 16, 2 heads, block size 8. */
    public static ModelConfig gpt(int vocabSize, float dropout) {
        return ModelConfig.gpt(vocabSize, 16, 2, 1, 8, dropout);
    }

    /** Batch 4, AdamW, cosine schedule with warm-up (so the learning rate differs from step to step). */
    public static TrainSettings settings(int maxIters, int evalInterval, long seed) {
        return settings(maxIters, evalInterval, seed, 1);
    }

    /** The same, each batch taken in the given number of parts. */
    public static TrainSettings settings(int maxIters, int evalInterval, long seed, int microBatches) {
        return new TrainSettings(4, maxIters, evalInterval, 4, 3e-3f, "adamw", 0.01f, 1.0f, "cosine", 5, 3e-4f,
                seed, 0.9, 0, microBatches);
    }

    /** A model initialised as the train command does: from the settings' seed. */
    public static LanguageModel model(ModelConfig config, TrainSettings settings) {
        return LanguageModel.create(config, new Rng(settings.seed()));
    }

    /** A trainer for a fresh or resumed run on {@link #corpus()}. */
    public static Trainer trainer(LanguageModel model, TrainSettings settings, RunDirectory run, Trainer.Listener listener) {
        Corpus corpus = corpus();
        var split = corpus.split(settings.trainFraction());
        return new Trainer(model, corpus.vocabulary(), split.train(), split.val(), settings, run, corpus.name(), listener);
    }

    /** A listener that asks the trainer to stop once the given step has been taken. */
    public static Trainer.Listener stopAt(long step, Trainer[] trainer) {
        return new Trainer.Listener() {
            @Override
            public void stepped(long s, float loss, float lr, double tokensPerSecond) {
                if (s == step) trainer[0].requestStop();
            }
        };
    }

    /** metrics.csv without the elapsed-time column (the only one that depends on the clock). */
    public static List<String> metricsWithoutTime(Path file) throws IOException {
        List<String> rows = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            rows.add(line.substring(0, line.lastIndexOf(',')));
        }
        return rows;
    }

    /** The names of the entries directly in dir, sorted. */
    public static List<String> entries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    public static String stepName(long step) {
        return String.format(Locale.ROOT, "step-%06d", step);
    }
}
