package dev.toygpt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toygpt.kernels.Parallel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bench: one JSON line with the PyTorch reference script's keys; bad options are refused with exit code 2. */
class BenchCommandTest extends CliTestBase {
    @TempDir
    Path tmp;
    private final int defaultThreads = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(defaultThreads); // --threads sets them for the whole JVM
    }

    private static JsonNode json(Run r) throws IOException {
        assertEquals(0, r.exit(), r.toString());
        List<String> lines = r.out().lines().toList();
        assertEquals(1, lines.size(), r.out());
        return new ObjectMapper().readTree(lines.get(0));
    }

    @Test
    void theSeedPresetOnTinyShakespeareHasTheLecturesParameterCount() throws IOException {
        String shakespeare = System.getProperty("toygpt.shakespeare");
        JsonNode j = json(run("bench", "--preset", "seed", "--data", shakespeare, "--iters", "2", "--warmup", "0",
                "--threads", "2", "--json"));
        assertEquals("seed", j.path("preset").asText());
        assertEquals(209_729, j.path("params").asInt());
        assertEquals(2, j.path("threads").asInt());
        assertEquals(2, j.path("micro_batches").asInt(), "the seed preset's batch in two parts, as train takes it");
        int sideBySide = j.path("side_by_side_steps").asInt(-1);
        assertTrue(sideBySide >= 0 && sideBySide <= 2, "of the 2 timed steps: " + j);
        assertEquals(2, j.path("iters").asInt());
        assertEquals(0, j.path("warmup_steps").asInt(), "--warmup 0 is taken exactly: " + j);
        assertEquals(Runtime.version().toString(), j.path("jdk").asText());
        // 16 x 32 tokens per step: tokens per second and milliseconds per step describe the same time
        double msPerIter = j.path("ms_per_iter").asDouble(), tokensPerS = j.path("train_tokens_per_s").asDouble();
        assertTrue(msPerIter > 0 && tokensPerS > 0, j.toString());
        assertEquals(512 * 1000 / msPerIter, tokensPerS, tokensPerS * 0.02, j.toString());
        assertTrue(j.path("gflops").asDouble() > 0, j.toString());
        assertTrue(j.path("last_loss").asDouble() > 0, j.toString());
        // one figure per timed step, whose wall times add up to the run's
        assertEquals(2, j.path("step_ms").size(), j.toString());
        assertEquals(2, j.path("step_cpu_ms").size(), j.toString());
        // the steps' own times fit in the timed total, and make up most of it: the gaps between them (reading
        // the clocks, a preemption on a busy machine) are small, a step left out would be half of it
        double total = j.path("seconds").asDouble() * 1000, steps = j.path("step_ms").get(0).asDouble() + j.path("step_ms").get(1).asDouble();
        assertTrue(steps <= total + 1, j.toString());
        assertTrue(total - steps <= 5 + 0.25 * total, j.toString());
        assertTrue(j.path("gen_tokens_per_s").isMissingNode(), "no generation was asked for: " + j);

        // MFU: nanoGPT's model FLOPs per token, 6 (N - block * n_embd) + 12 n_layer n_embd block
        // = 6 * (209,729 - 32 * 64) + 12 * 4 * 64 * 32, times tokens/s, over the product rate measured by bench
        double peak = j.path("peak_gflops").asDouble(), mfu = j.path("mfu").asDouble();
        assertTrue(peak > 0 && Double.isFinite(peak), j.toString());
        double expected = (6.0 * (209_729 - 32 * 64) + 12.0 * 4 * 64 * 32) * tokensPerS / 1e9 / peak;
        assertTrue(mfu > 0, j.toString());
        // (both figures in the JSON are rounded: to 4 digits, and the peak to 0.01 GFLOP/s)
        assertEquals(expected, mfu, 0.0001 + expected * (0.01 + 0.006 / peak), j.toString());
    }

    @Test
    void byDefaultTheWarmUpLastsUntilTheJitHasHadItsSeconds() throws IOException {
        Path text = tmp.resolve("warm.txt");
        Files.writeString(text, PLAY, StandardCharsets.UTF_8);
        JsonNode j = json(run("bench", "--preset", "seed", "--data", text.toString(), "--iters", "1", "--threads", "1", "--json"));
        int steps = j.path("warmup_steps").asInt();
        assertTrue(steps >= 10, j.toString());
        double seconds = j.path("warmup_seconds").asDouble();
        assertTrue(seconds >= BenchCommand.WARMUP_SECONDS || steps == BenchCommand.MAX_WARMUP_STEPS, j.toString());
        // the wait for the JIT has an end: the cap and one step past it
        assertTrue(seconds < BenchCommand.MAX_WARMUP_SECONDS + 1, j.toString());
        // and the JSON says how much the JIT still compiled during the timed steps
        assertTrue(j.path("jit_ms_in_steps").isIntegralNumber() && j.path("jit_ms_in_steps").asLong() >= 0, j.toString());
    }

    @Test
    void theJitHasSettledAfterAWholeSecondInWhichItCompiledForUnderAHundredthOfIt() {
        long[] now = {0}, jit = {0};
        var watch = new BenchCommand.JitWatch(() -> now[0], () -> jit[0]);
        // {ms since the start, the JIT's total compilation ms then, 1 if settled}, and why
        long[][] moments = {{0, 0, 0}, {500, 0, 0}, {1000, 50, 0}, {2000, 59, 1}, {2600, 300, 1}, {3000, 300, 0}, {4000, 310, 0}};
        String[] why = {"nothing is known before a whole second has passed", "half a second is not a whole one",
                "50 ms of compiling in a second: busy", "9 ms in the next second: settled",
                "the verdict holds until the next whole second", "241 ms in that second: busy again",
                "10 ms in a second is a hundredth: not under it"};
        for (int i = 0; i < moments.length; i++) {
            now[0] = moments[i][0] * 1_000_000L;
            jit[0] = moments[i][1];
            assertEquals(moments[i][2] == 1, watch.settled(), why[i]);
        }
    }

    @Test
    void aWarmUpLastsItsMinimumThenUntilTheJitHasSettledButNeverPastItsMaximum() {
        long[] now = {0}, jit = {0};
        var watch = new BenchCommand.JitWatch(() -> now[0], () -> jit[0]);
        // the JIT compiles 50 ms of every second until 6 s, then nothing
        for (int second = 0; second <= 20; second++) {
            now[0] = second * 1_000_000_000L;
            jit[0] = 50L * Math.min(second, 6);
            boolean expected = second < 3 || second <= 6;
            assertEquals(expected, watch.warming(3, 15), "at " + second + " s");
        }
        now[0] = 0;
        var busy = new BenchCommand.JitWatch(() -> now[0], () -> 50 * now[0] / 1_000_000_000L);
        now[0] = 14_000_000_000L;
        assertTrue(busy.warming(3, 15), "still busy at 14 s");
        now[0] = 15_000_000_000L;
        assertFalse(busy.warming(3, 15), "the maximum ends it, busy or not");
        assertFalse(busy.warming(0, 0), "no warm-up asked for: none");
    }

    @Test
    void aJvmThatDoesNotMeasureItsJitCountsAsSettled() {
        long[] now = {0};
        assertTrue(new BenchCommand.JitWatch(() -> now[0], () -> -1).settled());
    }

    @Test
    void generationIsTimedWhenAskedForOnAnyText() throws IOException {
        Path text = tmp.resolve("play.txt");
        Files.writeString(text, PLAY, StandardCharsets.UTF_8);
        Run r = run("bench", "--preset", "seed", "--data", text.toString(), "--iters", "1", "--warmup", "1", "--gen", "30",
                "--threads", "1");
        JsonNode j = json(r);
        assertEquals(30, j.path("gen_tokens").asInt());
        // short runs repeat for a second, so one pause of the machine does not decide the rate
        assertTrue(j.path("gen_rounds").asInt() > 1, j.toString());
        assertTrue(j.path("gen_tokens_per_s").asDouble() > 0, j.toString());
        assertTrue(j.path("gen_alloc_bytes_per_token").isIntegralNumber() && j.path("gen_alloc_bytes_per_token").asLong() >= 0, j.toString());
        assertEquals(1, j.path("threads").asInt());
        // the decoder's model FLOPs: 2 (N - block * n_embd) + 4 n_layer n_embd (3/4 block), its context being
        // from half a block to a block, per token; over the same product rate as training's MFU
        double flops = 2.0 * (j.path("params").asLong() - 32 * 64) + 4.0 * 4 * 64 * 24, tokensPerS = j.path("gen_tokens_per_s").asDouble();
        double peak = j.path("peak_gflops").asDouble();
        assertEquals(flops * tokensPerS / 1e9, j.path("gen_gflops").asDouble(), 0.005 + 1e-4 * flops * tokensPerS / 1e9, j.toString());
        assertEquals(flops * tokensPerS / 1e9 / peak, j.path("gen_mfu").asDouble(), 0.0001 + 0.01 * flops * tokensPerS / 1e9 / peak, j.toString());
        // without --json a summary goes to stderr, the JSON line still alone on stdout
        assertTrue(r.err().contains("ms per step"), r.err());
        assertTrue(r.err().contains("generation: ") && r.err().contains("GFLOP/s"), r.err());
    }

    @Test
    void badOptionsAreRefused() throws IOException {
        Path text = tmp.resolve("play.txt");
        Files.writeString(text, PLAY, StandardCharsets.UTF_8);
        String[][] cases = {
                {"--iters", "0"},
                {"--warmup", "-1"},
                {"--gen", "-5"},
                {"--preset", "enormous"},
                {"--threads", "0"},
                {"--micro-batches", "0"},
                {"--micro-batches", "3"},
        };
        String[] expected = {"--iters", "--warmup", "--gen", "enormous", "threads", "--micro-batches must be at least 1, got 0",
                "--micro-batches must divide seed's batch of 16 sequences, got 3"};
        for (int i = 0; i < cases.length; i++) {
            Run r = run(args("bench", "--data", text.toString(), cases[i]));
            assertEquals(2, r.exit(), r.toString());
            assertEquals("", r.out(), r.toString());
            assertTrue(r.err().contains(expected[i]), r.toString());
        }
        Run missing = run("bench", "--data", tmp.resolve("absent.txt").toString());
        assertEquals(2, missing.exit(), missing.toString());
        assertTrue(missing.err().contains("absent.txt"), missing.toString());
    }
}
