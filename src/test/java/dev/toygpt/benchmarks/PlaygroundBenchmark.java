package dev.toygpt.benchmarks;

import dev.toygpt.inspect.AttentionMaps;
import dev.toygpt.models.Gpt;
import dev.toygpt.models.GptDecoder;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.sample.Generator;
import dev.toygpt.sample.NextTokenDistribution;
import dev.toygpt.sample.NextTokenSampler;
import dev.toygpt.sample.Prompt;
import dev.toygpt.sample.SamplingSettings;
import dev.toygpt.text.Corpus;
import dev.toygpt.text.Vocabulary;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.util.Rng;
import dev.toygpt.web.PlaygroundServer;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Latency of the playground's per-keystroke answers and the speed of its streaming, on a seed-preset GPT
 * (n_embd 64, 4 heads, 4 layers, block 32; the weights do not matter for speed, so it is saved untrained):
 * /api/next and /api/attention for a full block (median and p95 over 300 calls after 200 warm-up calls),
 * and characters per second streamed by /api/generate against the same generation printed to a stream
 * as {@code toygpt sample} does (in turns, after 3 warm-up rounds, 9 rounds by default:
 * {@code -Dtoygpt.rounds=N}), with the median of the per-round ratios: in wall time (what a page sees), per
 * CPU second of the whole JVM (this client included), and per CPU second of the generating threads (the
 * server's pool against {@code sample}'s own thread: what the server spends per character, whatever else
 * the shared machine runs).
 *
 * Run its main with {@code --add-modules jdk.incubator.vector} on the test class path:
 * <pre>./mvnw -q test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java --add-modules jdk.incubator.vector -cp target/test-classes:target/classes:$(cat target/cp.txt) dev.toygpt.benchmarks.PlaygroundBenchmark</pre>
 */
public final class PlaygroundBenchmark {
    public static void main(String[] args) throws Exception {
        Path shakespeare = Path.of(System.getProperty("toygpt.shakespeare", "../shared/data/tinyshakespeare.txt"));
        String text = Files.isRegularFile(shakespeare) ? Files.readString(shakespeare) : "First Citizen:\nBefore we proceed any further, hear me speak.\n".repeat(50);
        Vocabulary vocab = Corpus.of("text", text).vocabulary();
        Path runs = Files.createTempDirectory("toygpt-bench-runs");
        Path dir = runs.resolve("seed/step-000000");
        LanguageModel model = LanguageModel.create(ModelConfig.gpt(vocab.size(), 64, 4, 4, 32, 0f), new Rng(1337));
        Checkpoint.write(dir, model, vocab, null, null, null, "text");
        new RunDirectory(runs.resolve("seed")).save(0, true, Double.NaN, d -> Checkpoint.write(d, model, vocab, null, null, null, "text"));
        String block = text.substring(0, 32).replace("\"", "'").replace("\n", "\\n");

        try (PlaygroundServer server = PlaygroundServer.start(PlaygroundServer.Options.defaults(runs).withPort(0))) {
            HttpClient http = HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + server.port();
            String body = "{\"checkpoint\": \"seed@best\", \"text\": \"" + block + "\", \"temperature\": 0.8, \"topK\": 10}";
            System.out.printf(Locale.ROOT, "seed-shaped GPT, %d characters in the vocabulary, %d kernel threads, SIMD %s%n",
                    vocab.size(), dev.toygpt.kernels.Parallel.threads(), dev.toygpt.kernels.MatMul.SIMD);
            latency(http, base + "/api/next", body, "POST /api/next, 32 characters");
            latency(http, base + "/api/attention", body, "POST /api/attention, 32 characters");
            latency(http, base + "/api/next", body, "POST /api/next, 32 characters (again)");
            latency(http, base + "/api/attention", body, "POST /api/attention, 32 characters (again)");

            // the same work without HTTP: what the services cost
            Checkpoint.Loaded loaded = Checkpoint.load(new RunDirectory(runs.resolve("seed")).best());
            Gpt gpt = (Gpt) loaded.model();
            int[] ids = loaded.vocabulary().encode(text.substring(0, 32));
            SamplingSettings knobs = new SamplingSettings(0.8f, 10, 1f, false);
            direct("NextTokenDistribution.of, 32 characters", () -> NextTokenDistribution.of(loaded.model(), ids, knobs, null));
            GptDecoder kept = new GptDecoder(gpt);
            for (int round = 0; round < 2; round++) { // interleaved: the machine is shared
                direct("AttentionMaps.of, a new decoder per call", () -> AttentionMaps.of(gpt, ids));
                direct("AttentionMaps.of, one decoder kept", () -> AttentionMaps.of(kept, gpt, ids));
            }

            // streaming: characters per second from the first character to the last, the same 2,000 characters
            // (seed 7, default settings) streamed over HTTP and printed as `sample` does, in turns
            for (int warm = 0; warm < 3; warm++) { // both paths compiled by the JIT before anything is timed
                streamed(http, base);
                sampled(loaded);
            }
            int rounds = Integer.getInteger("toygpt.rounds", 9);
            double[] web = new double[rounds], sample = new double[rounds], ratio = new double[rounds];
            double[] webCpu = new double[rounds], sampleCpu = new double[rounds], ratioCpu = new double[rounds];
            double[] webOwn = new double[rounds], sampleOwn = new double[rounds], ratioOwn = new double[rounds];
            for (int round = 0; round < rounds; round++) {
                Rate w, p;
                if (round % 2 == 0) {
                    w = streamed(http, base);
                    p = sampled(loaded);
                } else {
                    p = sampled(loaded);
                    w = streamed(http, base);
                }
                web[round] = w.wall();
                sample[round] = p.wall();
                ratio[round] = w.wall() / p.wall();
                webCpu[round] = w.cpu();
                sampleCpu[round] = p.cpu();
                ratioCpu[round] = w.cpu() / p.cpu();
                webOwn[round] = w.ownCpu();
                sampleOwn[round] = p.ownCpu();
                ratioOwn[round] = w.ownCpu() / p.ownCpu();
                System.out.printf(Locale.ROOT, "round %d, 2000 characters: /api/generate %,.0f chars/s (%,.0f per JVM CPU second, %,.0f per server-thread CPU second); "
                                + "`sample` %,.0f chars/s (%,.0f per JVM CPU second, %,.0f per CPU second of its thread); ratio %.2f (JVM CPU %.2f, own threads %.2f)%n",
                        round + 1, w.wall(), w.cpu(), w.ownCpu(), p.wall(), p.cpu(), p.ownCpu(), ratio[round], ratioCpu[round], ratioOwn[round]);
            }
            System.out.printf(Locale.ROOT, "streaming, median of %d rounds: /api/generate %,.0f chars/s, `sample` %,.0f chars/s, median ratio %.2f%n",
                    rounds, median(web), median(sample), median(ratio));
            System.out.printf(Locale.ROOT, "per CPU second of all the JVM's threads (server and this client): /api/generate %,.0f, `sample` %,.0f, median ratio %.2f%n",
                    median(webCpu), median(sampleCpu), median(ratioCpu));
            System.out.printf(Locale.ROOT, "per CPU second of the generating threads (the server's pool; `sample`'s thread): /api/generate %,.0f, `sample` %,.0f, median ratio %.2f%n",
                    median(webOwn), median(sampleOwn), median(ratioOwn));
        }
    }

    /**
     * Characters per second of wall time from the first character to the last, and per second of CPU time
     * used by this whole JVM for the whole request (or call).
     */
    private record Rate(double wall, double cpu, double ownCpu) {}

    /** CPU time of the web server's threads (named toygpt-web: Jetty's pool, where generation runs), in nanoseconds. */
    private static long serverCpuNanos() {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (java.lang.management.ThreadInfo t : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (t == null || !t.getThreadName().startsWith("toygpt-web")) continue;
            long cpu = mx.getThreadCpuTime(t.getThreadId());
            if (cpu > 0) sum += cpu;
        }
        return sum;
    }

    /** CPU time of this JVM (the server's threads and this client's), in nanoseconds; it moves in steps of about 10 ms. */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static void latency(HttpClient http, String url, String body, String what) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofString(body)).build();
        for (int i = 0; i < 200; i++) check(http.send(req, HttpResponse.BodyHandlers.ofString()));
        double[] ms = new double[300];
        for (int i = 0; i < ms.length; i++) {
            long t = System.nanoTime();
            check(http.send(req, HttpResponse.BodyHandlers.ofString()));
            ms[i] = (System.nanoTime() - t) / 1e6;
        }
        Arrays.sort(ms);
        System.out.printf(Locale.ROOT, "%-40s median %.2f ms, p95 %.2f ms, max %.2f ms%n", what, ms[ms.length / 2], ms[(int) (ms.length * 0.95)], ms[ms.length - 1]);
    }

    private static void direct(String what, Runnable work) {
        for (int i = 0; i < 500; i++) work.run();
        double[] ms = new double[500];
        for (int i = 0; i < ms.length; i++) {
            long t = System.nanoTime();
            work.run();
            ms[i] = (System.nanoTime() - t) / 1e6;
        }
        Arrays.sort(ms);
        System.out.printf(Locale.ROOT, "%-40s median %.3f ms, p95 %.3f ms (no HTTP)%n", what, ms[ms.length / 2], ms[(int) (ms.length * 0.95)]);
    }

    private static Rate streamed(HttpClient http, String base) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create(base + "/api/generate"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"checkpoint\": \"seed@best\", \"maxNewTokens\": 2000, \"seed\": 7}")).build();
        long cpuFirst = processCpuNanos(), cpuLast = 0, serverFirst = serverCpuNanos(), serverLast = 0;
        HttpResponse<java.io.InputStream> r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        long first = 0, last = 0;
        int n = 0;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.equals("event: token")) {
                    if (n++ == 0) first = System.nanoTime();
                    last = System.nanoTime();
                } else if (line.startsWith("event: done")) {
                    cpuLast = processCpuNanos();
                    serverLast = serverCpuNanos();
                }
            }
        }
        if (n != 2000) throw new IllegalStateException(n + " characters streamed, not 2000");
        return new Rate((n - 1) / ((last - first) / 1e9), n / ((cpuLast - cpuFirst) / 1e9), n / ((serverLast - serverFirst) / 1e9));
    }

    private static Rate sampled(Checkpoint.Loaded loaded) {
        PrintStream out = new PrintStream(OutputStream.nullOutputStream(), false, StandardCharsets.UTF_8);
        Generator g = new Generator(loaded.model(), new NextTokenSampler(SamplingSettings.defaults()));
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long[] first = {0, processCpuNanos(), mx.getCurrentThreadCpuTime()};
        int[] n = {0};
        g.generate(Prompt.start(loaded.vocabulary()).ids(), 2000, new Rng(7), id -> {
            if (n[0]++ == 0) first[0] = System.nanoTime();
            out.print(loaded.vocabulary().decode(id));
            out.flush();
        });
        long wall = System.nanoTime() - first[0], cpu = processCpuNanos() - first[1], own = mx.getCurrentThreadCpuTime() - first[2];
        return new Rate((n[0] - 1) / (wall / 1e9), n[0] / (cpu / 1e9), n[0] / (own / 1e9));
    }

    private static void check(HttpResponse<String> r) {
        if (r.statusCode() != 200) throw new IllegalStateException(r.statusCode() + " " + r.body());
    }
}
