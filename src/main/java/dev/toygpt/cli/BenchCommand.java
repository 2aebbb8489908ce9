package dev.toygpt.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toygpt.kernels.MatMul;
import dev.toygpt.kernels.Parallel;
import dev.toygpt.kernels.PeakRate;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.models.ModelFlops;
import dev.toygpt.optim.Adam;
import dev.toygpt.sample.Generator;
import dev.toygpt.sample.NextTokenSampler;
import dev.toygpt.sample.SamplingSettings;
import dev.toygpt.text.Batches;
import dev.toygpt.text.Corpus;
import dev.toygpt.train.Presets;
import dev.toygpt.train.TrainStep;
import dev.toygpt.util.JitClock;
import dev.toygpt.util.Rng;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;
import java.util.function.LongSupplier;

@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Time training steps and generation of a GPT preset; prints one JSON line",
                "with the same keys as the PyTorch reference script, so the two can be compared."})
final class BenchCommand implements Callable<Integer> {
    static final double WARMUP_SECONDS = 3, MAX_WARMUP_SECONDS = 15, GEN_SECONDS = 1;
    static final int MAX_WARMUP_STEPS = 2000;
    @Option(names = "--preset", paramLabel = "NAME", defaultValue = "seed", description = "seed, baby or lecture (default ${DEFAULT-VALUE})")
    String preset;
    @Option(names = "--threads", paramLabel = "N", description = "worker threads (default: all cores)")
    Integer threads;
    @Option(names = "--iters", paramLabel = "N", description = "timed training steps (default 50; 5 for lecture, whose steps take seconds)")
    Integer itersOption;
    @Option(names = "--warmup", paramLabel = "N", description = "untimed steps first, for the JIT (default: 10, then on for 3 s and until the JIT has settled, at most 15 s; 1 for lecture)")
    Integer warmupOption;
    @Option(names = "--gen", paramLabel = "N", defaultValue = "0", description = "also generate N tokens from a newline, batch 1 (default ${DEFAULT-VALUE})")
    int gen;
    @Option(names = "--data", paramLabel = "FILE", defaultValue = "shakespeare", description = "corpus (default ${DEFAULT-VALUE})")
    String data;
    @Option(names = "--no-cache", description = "generate by recomputing the whole window per token, as the notebook does")
    boolean noCache;
    @Option(names = "--micro-batches", paramLabel = "N", description = "cut each batch into N parts, as train --micro-batches does (default: the preset's)")
    Integer microBatches;
    @Option(names = "--json", description = "print only the JSON line (the default prints it too, after a summary on stderr)")
    boolean json;

    @Override
    public Integer call() {
        boolean slowSteps = "lecture".equals(preset);
        int iters = itersOption != null ? itersOption : slowSteps ? 5 : 50;
        int warmup = warmupOption != null ? warmupOption : slowSteps ? 1 : 10;
        // The JIT keeps compiling for seconds after the first steps (on two processors, with both training, for
        // five or more); a run of minutes trains at the steady speed. So by default the warm-up lasts at least
        // WARMUP_SECONDS and then goes on until the JIT has settled, at most MAX_WARMUP_SECONDS (a given --warmup
        // is taken exactly).
        double warmupSeconds = warmupOption != null || slowSteps ? 0 : WARMUP_SECONDS;
        double maxWarmupSeconds = warmupSeconds > 0 ? MAX_WARMUP_SECONDS : 0;
        if (iters < 1) throw new UserInputException("--iters must be at least 1, got " + iters);
        if (warmup < 0) throw new UserInputException("--warmup must be >= 0, got " + warmup);
        if (gen < 0) throw new UserInputException("--gen must be >= 0, got " + gen);
        if (microBatches != null && microBatches < 1) throw new UserInputException("--micro-batches must be at least 1, got " + microBatches);
        if (threads != null) ThreadsOption.apply(threads);
        Corpus corpus = DataOption.load(data);
        Presets.Preset p = Presets.gpt(preset);
        ModelConfig base = p.model();
        ModelConfig config = new ModelConfig(base.kind(), corpus.vocabulary().size(), base.nEmbd(), base.nHead(), base.nLayer(),
                base.blockSize(), base.dropout(), base.hidden());
        LanguageModel model = LanguageModel.create(config, new Rng(1337));
        Adam optimizer = Adam.adamW(model.parameters(), p.train().learningRate());
        Batches batches = new Batches(corpus.split(0.9).train(), config.blockSize(), p.train().batchSize());
        Rng rng = new Rng(1337);
        model.train(true);
        int parts = microBatches != null ? microBatches : p.train().microBatches();
        if (p.train().batchSize() % parts != 0) {
            throw new UserInputException("--micro-batches must divide " + preset + "'s batch of " + p.train().batchSize() + " sequences, got " + parts);
        }
        TrainStep trainStep = new TrainStep(model, parts);
        float loss = 0;
        long warm0 = System.nanoTime();
        int warmed = 0;
        JitWatch jit = new JitWatch();
        while (warmed < warmup || (warmed < MAX_WARMUP_STEPS && jit.warming(warmupSeconds, maxWarmupSeconds))) {
            loss = step(trainStep, optimizer, batches, rng);
            warmed++;
        }
        long jitMs0 = JitClock.compiledMs();
        var cpuClock = java.lang.management.ManagementFactory.getThreadMXBean();
        long sideBySide0 = trainStep.sideBySideSteps();
        long cpu0 = cpuClock.getCurrentThreadCpuTime();
        long t0 = System.nanoTime();
        // each step's wall and processor time too: a drift down the steps says the JIT or the heap was still settling
        var stepMs = JsonNodeFactory.instance.arrayNode();
        var stepCpuMs = JsonNodeFactory.instance.arrayNode();
        // and the bytes it allocated: steps reuse their arrays, so megabytes here mean the Vector API's plain-Java
        // fallback (each operation a new array) in some kernel the JIT did not compile to vector instructions
        var stepAllocMb = JsonNodeFactory.instance.arrayNode();
        var allocClock = cpuClock instanceof com.sun.management.ThreadMXBean b ? b : null;
        long self = Thread.currentThread().getId();
        for (int i = 0; i < iters; i++) {
            long s0 = System.nanoTime(), c0 = cpuClock.getCurrentThreadCpuTime();
            long a0 = allocClock != null ? allocClock.getThreadAllocatedBytes(self) : 0;
            loss = step(trainStep, optimizer, batches, rng);
            if (allocClock != null) stepAllocMb.add(round((allocClock.getThreadAllocatedBytes(self) - a0) / 1e6, 1));
            stepMs.add(round((System.nanoTime() - s0) / 1e6, 1));
            stepCpuMs.add(round((cpuClock.getCurrentThreadCpuTime() - c0) / 1e6, 1));
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        double cpuSeconds = (cpuClock.getCurrentThreadCpuTime() - cpu0) / 1e9;
        int tokens = p.train().batchSize() * config.blockSize();

        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("impl", "toygpt");
        o.put("preset", preset);
        o.put("config", preset);
        o.put("params", model.parameterCount());
        o.put("threads", Parallel.threads());
        o.put("micro_batches", trainStep.microBatches());
        o.put("side_by_side_steps", trainStep.sideBySideSteps() - sideBySide0);
        o.put("iters", iters);
        o.put("warmup_steps", warmed);
        o.put("warmup_seconds", round((t0 - warm0) / 1e9, 3));
        // what the JIT compiled during the timed steps: tens of ms here say it had not settled, and the figure is low
        if (jitMs0 >= 0) o.put("jit_ms_in_steps", JitClock.compiledMs() - jitMs0);
        o.put("seconds", round(seconds, 3));
        o.put("ms_per_iter", round(1000 * seconds / iters, 2));
        o.put("train_tokens_per_s", round(iters * (double) tokens / seconds, 1));
        o.put("gflops", round(ModelFlops.perTrainingStep(config, p.train().batchSize()) * iters / seconds / 1e9, 2));
        // the calling thread's processor time: with --threads 1 all of a step's work, so on a busy machine
        // this says what the steps cost when the wall-clock time also holds other programs' turns
        if (cpuSeconds > 0) o.put("cpu_ms_per_iter", round(1000 * cpuSeconds / iters, 2));
        o.set("step_ms", stepMs);
        o.set("step_cpu_ms", stepCpuMs);
        if (allocClock != null) o.set("step_alloc_mb", stepAllocMb);
        o.put("last_loss", round(loss, 4));
        // MFU as nanoGPT reports it: model FLOPs per second (6 N + 12 L C T per token) over the rate our own
        // matrix product reaches on this machine now, at the same thread count.
        double tokensPerSecond = iters * (double) tokens / seconds;
        double peak = PeakRate.gflops(1024, 3, 10);
        o.put("peak_gflops", round(peak, 2));
        o.put("mfu", round(ModelFlops.perTokenNanoGpt(config, model.parameterCount()) * tokensPerSecond / 1e9 / peak, 4));
        if (gen > 0) {
            Generator generator = new Generator(model, new NextTokenSampler(SamplingSettings.defaults()), !noCache);
            int[] start = {SampleCommand.startToken(corpus.vocabulary())};
            // Warm-up: until the JIT has compiled the decoder's SIMD loops (before that the Vector API runs
            // as slow plain Java), so that the timing below is the steady speed, like the training steps'. As
            // there: at least WARMUP_SECONDS, then until the JIT has settled, at most MAX_WARMUP_SECONDS.
            long w0 = System.nanoTime();
            JitWatch genJit = new JitWatch();
            for (int w = 0; genJit.warming(WARMUP_SECONDS, MAX_WARMUP_SECONDS); w++) generator.generate(start, 500, new Rng(2 + w), null);
            o.put("gen_warmup_seconds", round((System.nanoTime() - w0) / 1e9, 3));
            // One run of a few hundred tokens lasts milliseconds, where any pause of the machine weighs; so the
            // runs repeat (each from its own seed) for GEN_SECONDS and the rate is all their tokens over all their time.
            long g0 = System.nanoTime();
            long ga0 = allocClock != null ? allocClock.getThreadAllocatedBytes(self) : 0;
            int rounds = 0;
            do generator.generate(start, gen, new Rng(1 + rounds++), null);
            while (System.nanoTime() - g0 < GEN_SECONDS * 1e9);
            double g = (System.nanoTime() - g0) / 1e9;
            o.put("gen_tokens", gen);
            o.put("gen_rounds", rounds);
            double genTokensPerSecond = (double) rounds * gen / g; // as a double: rounds x gen can pass an int
            o.put("gen_tokens_per_s", round(genTokensPerSecond, 1));
            // the same for generation: its model FLOPs per second over the same product rate
            double genGflops = ModelFlops.perGeneratedToken(config, model.parameterCount(), !noCache) * genTokensPerSecond / 1e9;
            o.put("gen_gflops", round(genGflops, 2));
            o.put("gen_mfu", round(genGflops / peak, 4));
            // the calling thread's bytes per token: a decoder reuses its arrays, so kilobytes here mean the JIT
            // left some of its vector code as the Vector API's plain-Java fallback (each operation a new object)
            if (allocClock != null) o.put("gen_alloc_bytes_per_token", Math.round((allocClock.getThreadAllocatedBytes(self) - ga0) / ((double) rounds * gen)));
        }
        o.put("simd", MatMul.SIMD);
        o.put("jdk", Runtime.version().toString());
        if (!json) {
            Console.err().printf("%s: %,d parameters, %d threads, %.1f ms per step, MFU %.0f%% of %.0f GFLOP/s (this machine's 1024^3 product)%n",
                    preset, model.parameterCount(), Parallel.threads(), 1000 * seconds / iters, 100 * o.path("mfu").asDouble(), peak);
            if (gen > 0) {
                Console.err().printf("generation: %,.0f tokens/s, %.1f GFLOP/s, %.1f%% of the same rate%n", o.path("gen_tokens_per_s").asDouble(),
                        o.path("gen_gflops").asDouble(), 100 * o.path("gen_mfu").asDouble());
            }
        }
        Console.out().println(o);
        return 0;
    }

    /**
     * Tells whether the JIT has settled: it compiled for under a hundredth of the last whole second (a JVM
     * that does not measure its compiler counts as settled); and so whether a warm-up that began with it goes on.
     */
    static final class JitWatch {
        private final LongSupplier nanos, jitMs;
        private final long start;
        private long since, compiledMs;
        private boolean settled;

        JitWatch() {
            this(System::nanoTime, JitClock::compiledMs);
        }

        /** With clocks of the test's: nanos for System.nanoTime, jitMs for the JIT's total compilation time. */
        JitWatch(LongSupplier nanos, LongSupplier jitMs) {
            this.nanos = nanos;
            this.jitMs = jitMs;
            start = since = nanos.getAsLong();
            compiledMs = jitMs.getAsLong();
            settled = compiledMs < 0;
        }

        /** Whether the warm-up goes on: for at least minSeconds from the start, then until settled, never past maxSeconds. */
        boolean warming(double minSeconds, double maxSeconds) {
            double elapsed = (nanos.getAsLong() - start) / 1e9;
            return elapsed < maxSeconds && (elapsed < minSeconds || !settled());
        }

        boolean settled() {
            long now = nanos.getAsLong();
            if (compiledMs >= 0 && now - since >= 1_000_000_000L) {
                long ms = jitMs.getAsLong();
                settled = (ms - compiledMs) * 100_000_000L < now - since;
                since = now;
                compiledMs = ms;
            }
            return settled;
        }
    }

    /** One training step, as the trainer takes it. */
    private static float step(TrainStep trainStep, Adam optimizer, Batches batches, Rng rng) {
        float loss = trainStep.forwardBackward(batches.next(rng));
        optimizer.step();
        return loss;
    }

    private static double round(double v, int digits) {
        double s = Math.pow(10, digits);
        return Math.round(v * s) / s;
    }
}
