package dev.toygpt.benchmarks;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.util.Collection;
import java.util.Locale;
import java.util.Map;

/** Runs the kernel benchmarks and prints GFLOP/s per kernel and shape. Arguments: an optional name filter. */
public final class RunBenchmarks {
    public static void main(String[] args) throws Exception {
        String filter = args.length > 0 ? args[0] : KernelBenchmarks.class.getSimpleName();
        Options opts = new OptionsBuilder().include(filter).build();
        Collection<RunResult> results = new Runner(opts).run();
        System.out.println();
        System.out.println("kernel                      shape              layout       GFLOP/s   (ms per call)");
        for (RunResult r : results) {
            Map<String, String> p = new java.util.TreeMap<>();
            for (String key : r.getParams().getParamsKeys()) p.put(key, r.getParams().getParam(key));
            String bench = r.getParams().getBenchmark().replaceAll(".*\\.", "");
            double opsPerSecond = r.getPrimaryResult().getScore(); // JMH default mode: throughput, ops/s
            double flops = flops(bench, p);
            System.out.printf(Locale.ROOT, "%-27s %-18s %-12s %8.1f   (%.3f)%n", bench, p.get("shape"),
                    p.getOrDefault("layout", ""), flops * opsPerSecond / 1e9, 1000 / opsPerSecond);
        }
    }

    private static double flops(String bench, Map<String, String> p) {
        String[] s = p.get("shape").split("x");
        double[] d = new double[s.length];
        for (int i = 0; i < s.length; i++) d[i] = Double.parseDouble(s[i]);
        return switch (bench) {
            case "matmul" -> 2 * d[0] * d[1] * d[2];
            case "attentionForwardBackward" -> 3 * 2 * d[0] * d[1] * d[1] * d[2];
            default -> 20 * d[0] * d[1];
        };
    }
}
