package dev.toygpt.benchmarks;

import dev.toygpt.kernels.Team;
import dev.toygpt.models.Gpt;
import dev.toygpt.models.GptDecoder;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.util.Rng;

import java.util.Locale;

/**
 * Tokens per second of the key/value-cache decoder at the seed and baby shapes: on 1 thread, on a team of 2
 * for every token, and on 2 threads choosing the faster way as generation does; alternating, and the cost of one barrier of a two-thread {@link Team}. A plain main:
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes dev.toygpt.benchmarks.DecoderBenchmark [rounds]
 * </pre>
 */
public final class DecoderBenchmark {
    private DecoderBenchmark() {}

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        barrier();
        for (String preset : new String[] {"seed", "baby"}) {
            ModelConfig cfg = preset.equals("seed") ? ModelConfig.gpt(65, 64, 4, 4, 32, 0f) : ModelConfig.gpt(65, 128, 4, 4, 64, 0f);
            Gpt gpt = new Gpt(cfg, new Rng(1));
            gpt.train(false);
            String[] ways = {"1 thread", "2 threads, always the team", "2 threads, the faster way"};
            double[] best = new double[3];
            for (int r = 0; r < rounds; r++) {
                for (int way = 0; way < 3; way++) {
                    double tps = tokensPerSecond(gpt, way == 0 ? 1 : 2, way == 2);
                    best[way] = Math.max(best[way], tps);
                    System.out.printf(Locale.ROOT, "%s, %s: %.0f tokens/s%n", preset, ways[way], tps);
                }
            }
            for (int way = 0; way < 3; way++) System.out.printf(Locale.ROOT, "%s best, %s: %.0f tokens/s%n", preset, ways[way], best[way]);
        }
    }

    private static double tokensPerSecond(Gpt gpt, int threads, boolean adaptive) {
        try (GptDecoder decoder = new GptDecoder(gpt, threads, adaptive)) {
            int token = 1, n = 0;
            for (int i = 0; i < 2000; i++) token = argmax(decoder.next(token));
            long start = System.nanoTime();
            while (System.nanoTime() - start < 500_000_000L) {
                for (int i = 0; i < 200; i++) token = argmax(decoder.next(token));
                n += 200;
            }
            return n / ((System.nanoTime() - start) / 1e9);
        }
    }

    private static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    private static void barrier() {
        try (Team team = new Team(2)) {
            for (int round = 0; round < 3; round++) {
                int n = 200_000;
                long start = System.nanoTime();
                team.run(rank -> {
                    for (int i = 0; i < n; i++) team.await();
                });
                System.out.printf(Locale.ROOT, "two-thread barrier: %.0f ns%n", (System.nanoTime() - start) / (double) n);
            }
        }
    }
}
