package dev.toygpt.benchmarks;

import dev.toygpt.kernels.MatMul;
import dev.toygpt.kernels.Parallel;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * GFLOP/s of the matrix product at 1024^3 and at every Linear layer of the GPT presets, in the three forms a
 * Linear layer uses (forward y = x Wᵀ, input gradient dx = dy W, weight gradient dW = dyᵀ x), at 1 and 2
 * threads. A plain main rather than JMH so that one run over all shapes takes a minute:
 *
 * <pre>
 * ./mvnw -q -B test-compile
 * java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes dev.toygpt.benchmarks.MatMulBenchmark [threads,...] [presets,...]
 * </pre>
 *
 * e.g. {@code ... MatMulBenchmark 1 square,baby}. Each figure is the best of several timed rounds, since on a
 * shared machine the slower rounds are interruptions, not the kernel. Two figures per product: by wall time,
 * and by CPU time (the calling thread's at 1 thread, the best round; the process's otherwise, over all rounds,
 * counting both threads' time), which other programs on a busy machine disturb much less.
 */
public final class MatMulBenchmark {
    /** rows (B*T), then (in, out) of each distinct Linear layer: attention (one or three fused), MLP, head. */
    private record Preset(String name, int rows, int[][] layers) {}

    private static final List<Preset> PRESETS = List.of(
            new Preset("square", 1024, new int[][] {{1024, 1024}}),
            new Preset("seed", 16 * 32, new int[][] {{64, 64}, {64, 192}, {64, 256}, {256, 64}, {64, 65}}),
            new Preset("baby", 12 * 64, new int[][] {{128, 128}, {128, 384}, {128, 512}, {512, 128}, {128, 65}}),
            new Preset("lecture", 64 * 256, new int[][] {{384, 384}, {384, 1152}, {384, 1536}, {1536, 384}, {384, 65}}));

    private MatMulBenchmark() {}

    public static void main(String[] args) {
        int[] threads = args.length > 0 ? parseInts(args[0]) : new int[] {1, 2};
        List<String> wanted = args.length > 1 ? List.of(args[1].split(",")) : List.of("square", "seed", "baby", "lecture");
        System.out.printf("simd=%s%n", MatMul.SIMD);
        System.out.printf("%-8s %-6s %-5s %-5s %-12s %8s %8s%n", "preset", "rows", "in", "out", "form", "wall", "cpu");
        for (int t : threads) {
            Parallel.setThreads(t);
            System.out.printf("threads=%d%n", t);
            for (Preset p : PRESETS) {
                if (!wanted.contains(p.name())) continue;
                for (int[] layer : p.layers()) {
                    for (String form : new String[] {"forward", "input-grad", "weight-grad"}) {
                        double[] g = measure(form, p.rows(), layer[0], layer[1], t == 1);
                        System.out.printf(Locale.ROOT, "%-8s %-6d %-5d %-5d %-12s %8.1f %8.1f%n", p.name(), p.rows(), layer[0], layer[1], form, g[0], g[1]);
                    }
                }
            }
        }
    }

    private static int[] parseInts(String s) {
        String[] parts = s.split(",");
        int[] r = new int[parts.length];
        for (int i = 0; i < parts.length; i++) r[i] = Integer.parseInt(parts[i]);
        return r;
    }

    /** Best GFLOP/s (by wall time, by CPU time) of one Linear layer's product: x (rows, in), W (out, in). */
    private static double[] measure(String form, int rows, int in, int out, boolean oneThread) {
        Random r = new Random(1);
        float[] x = random(rows * in, r), w = random(out * in, r), dy = random(rows * out, r);
        float[] y = new float[rows * out], dx = new float[rows * in], dw = new float[out * in];
        Runnable product = switch (form) {
            case "forward" -> () -> MatMul.linear(x, w, null, y, rows, in, out);
            case "input-grad" -> () -> MatMul.matmul(dy, w, dx, rows, out, in, true);
            default -> () -> MatMul.matmulTransA(dy, x, dw, out, rows, in, true);
        };
        double flops = 2.0 * rows * in * out;
        // enough calls per round for about 20 ms, so the timer's resolution does not matter
        long t0 = System.nanoTime();
        int calls = 0;
        while (System.nanoTime() - t0 < 200_000_000L || calls < 3) {
            product.run();
            calls++;
        }
        int perRound = Math.max(1, (int) (calls * 20_000_000L / (System.nanoTime() - t0)));
        long bestWall = Long.MAX_VALUE, bestCpu = Long.MAX_VALUE, allCpu = cpuNanos(oneThread);
        int rounds = 25;
        for (int round = 0; round < rounds; round++) {
            long s = System.nanoTime(), cpu = cpuNanos(oneThread);
            for (int i = 0; i < perRound; i++) product.run();
            bestCpu = Math.min(bestCpu, (cpuNanos(oneThread) - cpu) / perRound);
            bestWall = Math.min(bestWall, (System.nanoTime() - s) / perRound);
        }
        // the process's CPU clock ticks too coarsely for one round: there, all rounds' CPU time over all calls
        if (!oneThread) bestCpu = (cpuNanos(false) - allCpu) / ((long) rounds * perRound);
        return new double[] {flops / bestWall, flops / Math.max(1, bestCpu)};
    }

    private static long cpuNanos(boolean thisThread) {
        if (thisThread) return ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static float[] random(int n, Random r) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }
}
