package dev.toygpt.benchmarks;

import dev.toygpt.autograd.BufferPool;
import dev.toygpt.autograd.F;
import dev.toygpt.autograd.Tensor;
import dev.toygpt.kernels.MatMul;
import dev.toygpt.kernels.Parallel;
import dev.toygpt.util.Rng;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Milliseconds of one layer's causal self-attention, forward and backward as a training step runs it
 * ({@link F#causalSelfAttention} with the preset's dropout, arrays from a buffer pool), at the presets' shapes
 * and at 1 and 2 threads. A plain main, like {@link MatMulBenchmark}:
 *
 * <pre>
 * ./mvnw -q -B test-compile
 * java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes dev.toygpt.benchmarks.AttentionBenchmark [threads,...] [presets,...]
 * </pre>
 *
 * Each figure is the best of several timed rounds (on a shared machine the slower ones are interruptions), by
 * wall time and by CPU time (the calling thread's at 1 thread, the process's otherwise). Only F's public API is
 * used, so the same class also times an older build: put its jar first on the class path.
 */
public final class AttentionBenchmark {
    private record Shape(String name, int batch, int time, int channels, int heads, float dropout) {}

    private static final List<Shape> SHAPES = List.of(
            new Shape("seed", 16, 32, 64, 4, 0f),
            new Shape("baby", 12, 64, 128, 4, 0f),
            new Shape("lecture", 64, 256, 384, 6, 0.2f),
            new Shape("lecture-p0", 64, 256, 384, 6, 0f));

    private AttentionBenchmark() {}

    public static void main(String[] args) {
        int[] threads = args.length > 0 ? parseInts(args[0]) : new int[] {1, 2};
        List<String> wanted = args.length > 1 ? List.of(args[1].split(",")) : List.of("seed", "baby", "lecture", "lecture-p0");
        System.out.printf("simd=%s%n", MatMul.SIMD);
        System.out.printf("%-11s %7s %10s %10s%n", "shape", "threads", "wall ms", "cpu ms");
        for (int t : threads) {
            Parallel.setThreads(t);
            for (Shape s : SHAPES) {
                if (!wanted.contains(s.name())) continue;
                double[] ms = measure(s, t == 1);
                System.out.printf(Locale.ROOT, "%-11s %7d %10.3f %10.3f%n", s.name(), t, ms[0], ms[1]);
            }
        }
    }

    /** Best (wall, CPU) milliseconds of one forward and backward pass. */
    private static double[] measure(Shape s, boolean oneThread) {
        Random r = new Random(1);
        int n = s.batch() * s.time() * s.channels();
        Tensor q = Tensor.parameter(random(n, r), s.batch(), s.time(), s.channels());
        Tensor k = Tensor.parameter(random(n, r), s.batch(), s.time(), s.channels());
        Tensor v = Tensor.parameter(random(n, r), s.batch(), s.time(), s.channels());
        Tensor weights = Tensor.of(random(n, r), s.batch(), s.time(), s.channels());
        Rng rng = new Rng(7);
        BufferPool pool = new BufferPool();
        Runnable pass = () -> {
            try (var scope = pool.lend()) {
                F.sum(F.mul(F.causalSelfAttention(q, k, v, s.heads(), s.dropout(), rng), weights)).backward();
            }
        };
        long t0 = System.nanoTime();
        int calls = 0;
        while (System.nanoTime() - t0 < 300_000_000L || calls < 2) {
            pass.run();
            calls++;
        }
        int perRound = Math.max(1, (int) Math.ceil(calls * 100_000_000.0 / (System.nanoTime() - t0)));
        long bestWall = Long.MAX_VALUE, bestCpu = Long.MAX_VALUE;
        for (int round = 0; round < 7; round++) {
            long w = System.nanoTime(), cpu = cpuNanos(oneThread);
            for (int i = 0; i < perRound; i++) pass.run();
            bestWall = Math.min(bestWall, (System.nanoTime() - w) / perRound);
            bestCpu = Math.min(bestCpu, (cpuNanos(oneThread) - cpu) / perRound);
        }
        return new double[] {bestWall / 1e6, bestCpu / 1e6};
    }

    private static long cpuNanos(boolean thisThread) {
        if (thisThread) return ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static float[] random(int n, Random r) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) r.nextGaussian();
        return out;
    }

    private static int[] parseInts(String s) {
        String[] parts = s.split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) out[i] = Integer.parseInt(parts[i]);
        return out;
    }
}
