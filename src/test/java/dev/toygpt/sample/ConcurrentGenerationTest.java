package dev.toygpt.sample;

import dev.toygpt.kernels.Parallel;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.TinyRuns;
import dev.toygpt.train.TrainSettings;
import dev.toygpt.train.Trainer;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The playground generates for several pages at once, in the JVM that may also be training: one model in
 * evaluation mode shared by many threads, the kernels' worker threads shared with a trainer.
 */
class ConcurrentGenerationTest {
    @TempDir
    Path tmp;

    /** A GPT wide enough that its matrix products are split between the kernel threads. */
    private static LanguageModel model() {
        LanguageModel m = LanguageModel.create(ModelConfig.gpt(30, 64, 4, 2, 32, 0f), new Rng(11));
        m.train(false);
        return m;
    }

    private static String generate(LanguageModel model, long seed, boolean cache) {
        Generator g = new Generator(model, new NextTokenSampler(new SamplingSettings(0.9f, 0, 1f, false)), cache);
        StringBuilder sb = new StringBuilder();
        g.generate(new int[]{1, 2, 3}, 120, new Rng(seed), id -> sb.append((char) ('a' + id)));
        return sb.toString();
    }

    private static NextTokenDistribution next(LanguageModel model, int shift) {
        int[] ctx = new int[40];
        for (int i = 0; i < ctx.length; i++) ctx[i] = (i * 7 + shift) % 30;
        return NextTokenDistribution.of(model, ctx, SamplingSettings.defaults(), 5L);
    }

    @Test
    void eightConcurrentGenerationsGiveWhatEachGivesAlone() throws Exception {
        LanguageModel model = model();
        List<String> alone = new ArrayList<>();
        List<float[]> aloneNext = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            alone.add(generate(model, i, i % 2 == 0));
            aloneNext.add(next(model, i).rawProbs());
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            for (int round = 0; round < 3; round++) {
                List<Future<String>> texts = new ArrayList<>();
                List<Future<float[]>> dists = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    int k = i;
                    texts.add(pool.submit(() -> generate(model, k, k % 2 == 0)));
                    dists.add(pool.submit(() -> next(model, k).rawProbs()));
                }
                for (int i = 0; i < 8; i++) {
                    assertEquals(alone.get(i), texts.get(i).get(), "generation " + i);
                    assertEquals(java.util.Arrays.toString(aloneNext.get(i)), java.util.Arrays.toString(dists.get(i).get()));
                }
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(Parallel.threads() >= 1);
    }

    @Test
    void generatingWhileAModelTrainsInTheSameJvmChangesNeitherTheTextNorTheTraining() throws Exception {
        TrainSettings settings = TinyRuns.settings(40, 20, 7);
        ModelConfig config = TinyRuns.gpt(TinyRuns.corpus().vocabulary().size(), 0.1f);
        Trainer.Result alone = TinyRuns.trainer(TinyRuns.model(config, settings), settings, new RunDirectory(tmp.resolve("alone")),
                new Trainer.Listener() { }).run();

        LanguageModel served = model();
        String[] expected = {generate(served, 42, true), generate(served, 42, false)}; // the cache crops a full context differently
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Trainer.Result> training = pool.submit(() -> TinyRuns.trainer(TinyRuns.model(config, settings), settings,
                    new RunDirectory(tmp.resolve("beside")), new Trainer.Listener() { }).run());
            List<String> texts = new ArrayList<>();
            while (!training.isDone()) texts.add(generate(served, 42, texts.size() % 2 == 0));
            Trainer.Result beside = training.get();
            assertEquals(alone.trainLoss(), beside.trainLoss(), "training is exactly the same beside generation");
            assertEquals(alone.valLoss(), beside.valLoss());
            assertEquals(TinyRuns.metricsWithoutTime(tmp.resolve("alone/metrics.csv")), TinyRuns.metricsWithoutTime(tmp.resolve("beside/metrics.csv")));
            assertTrue(!texts.isEmpty());
            for (int i = 0; i < texts.size(); i++) assertEquals(expected[i % 2], texts.get(i));
        } finally {
            pool.shutdownNow();
        }
    }
}
