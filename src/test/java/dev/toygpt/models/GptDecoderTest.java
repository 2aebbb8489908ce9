package dev.toygpt.models;

import dev.toygpt.autograd.GradMode;
import dev.toygpt.sample.Generator;
import dev.toygpt.sample.NextTokenSampler;
import dev.toygpt.sample.SamplingSettings;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GptDecoderTest {
    private static Gpt model() {
        Gpt gpt = new Gpt(ModelConfig.gpt(11, 24, 3, 2, 8, 0f), new Rng(5));
        gpt.train(false);
        return gpt;
    }

    @Test
    void cachedLogitsEqualTheFullForwardAtEveryPosition() {
        Gpt gpt = model();
        int[] tokens = {3, 1, 4, 1, 5, 9, 2, 6};
        float[] full;
        try (var off = GradMode.off()) {
            full = gpt.forward(tokens, 1, tokens.length).data(); // (1, 8, 11)
        }
        GptDecoder decoder = new GptDecoder(gpt);
        for (int t = 0; t < tokens.length; t++) {
            float[] step = decoder.next(tokens[t]);
            for (int j = 0; j < 11; j++) {
                assertEquals(full[t * 11 + j], step[j], 1e-4f, "position " + t + ", logit " + j);
            }
        }
    }

    /** Heads of 16 and 32 channels fill whole SIMD vectors; 67 logits and 40 positions leave ragged ends. */
    @org.junit.jupiter.params.ParameterizedTest(name = "heads={0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {2, 4})
    void cachedLogitsEqualTheFullForwardAtWidthsThatFillVectors(int heads) {
        Gpt gpt = new Gpt(ModelConfig.gpt(67, 64, heads, 2, 40, 0f), new Rng(6));
        gpt.train(false);
        Rng rng = new Rng(9);
        int[] tokens = new int[40];
        for (int i = 0; i < tokens.length; i++) tokens[i] = (int) (rng.nextFloat() * 67);
        float[] full;
        try (var off = GradMode.off()) {
            full = gpt.forward(tokens, 1, tokens.length).data();
        }
        GptDecoder decoder = new GptDecoder(gpt);
        for (int t = 0; t < tokens.length; t++) {
            float[] step = decoder.next(tokens[t]);
            for (int j = 0; j < 67; j++) {
                assertEquals(full[t * 67 + j], step[j], 2e-4f, "position " + t + ", logit " + j);
            }
        }
    }

    @Test
    void whenTheContextIsFullTheDecoderKeepsTheNewestHalf() {
        Gpt gpt = model();
        int[] tokens = {3, 1, 4, 1, 5, 9, 2, 6, 5};
        GptDecoder decoder = new GptDecoder(gpt);
        float[] last = null;
        for (int t : tokens) last = decoder.next(t);
        // the 9th token does not fit in block_size 8: the context becomes the last 4 + 1 tokens at positions 0..4
        int[] kept = {tokens[4], tokens[5], tokens[6], tokens[7], tokens[8]};
        float[] expected;
        try (var off = GradMode.off()) {
            expected = gpt.forward(kept, 1, kept.length).data();
        }
        for (int j = 0; j < 11; j++) assertEquals(expected[4 * 11 + j], last[j], 1e-4f);
    }

    @Test
    void greedyGenerationWithAndWithoutTheCacheAgreeWithinTheBlock() {
        Gpt gpt = model();
        var greedy = new NextTokenSampler(new SamplingSettings(1f, 0, 1f, true));
        int[] prompt = {1, 2};
        int[] cached = new Generator(gpt, greedy, true).generate(prompt, 6, new Rng(1), null);
        int[] window = new Generator(gpt, greedy, false).generate(prompt, 6, new Rng(1), null);
        assertEquals(6, cached.length);
        assertArrayEquals(window, cached);
    }

    /**
     * Past the block size the kept half's keys and values come from the next window's cache, each position
     * encoded as a second row beside a new token; every logit, through several windows, must be bit for bit
     * what the position-by-position decoder gives (it recomputes the kept half), so that sampling with a seed
     * keeps its text. Widths fill SIMD chunks (64, 192 = q|k|v, 256) and leave ragged ends (67 logits); block
     * sizes 1, 8, 9, 10 and 20 keep 0, 4, 4, 5 and 10 positions (9: the next window starts at position 5).
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "block={0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 8, 9, 10, 20})
    void theNextWindowsCacheGivesBitForBitTheLogitsOfRecomputingIt(int block) {
        Gpt gpt = new Gpt(ModelConfig.gpt(67, 64, 4, 3, block, 0f), new Rng(12));
        gpt.train(false);
        GptDecoder decoder = new GptDecoder(gpt);
        PositionByPositionDecoder reference = new PositionByPositionDecoder(gpt);
        Rng rng = new Rng(3);
        for (int t = 0; t < 4 * block + 3; t++) {
            int token = (int) (rng.nextFloat() * 67);
            float[] expected = reference.next(token).clone();
            assertArrayEquals(expected, decoder.next(token), "token " + t);
        }
    }

    /**
     * Decoders of one model share its packed weights; one made after the weights change (a training step, a
     * loaded checkpoint) must compute with the new ones, on one thread and on a team.
     */
    @Test
    void aDecoderMadeAfterTheWeightsChangeUsesTheNewWeights() {
        Gpt gpt = new Gpt(ModelConfig.gpt(67, 64, 4, 2, 16, 0f), new Rng(14));
        gpt.train(false);
        int[] tokens = new int[40];
        Rng rng = new Rng(8);
        for (int t = 0; t < tokens.length; t++) tokens[t] = (int) (rng.nextFloat() * 67);
        float[] before;
        try (GptDecoder alone = new GptDecoder(gpt, 1); GptDecoder team = new GptDecoder(gpt, 2, false)) {
            for (int t : tokens) assertArrayEquals(alone.next(t).clone(), team.next(t)); // both packings made
            before = alone.next(3).clone();
        }
        gpt.blocks.get(0).ffwd.contract.weight.data()[7] += 0.5f;
        gpt.lmHead.weight.data()[64 * 66 + 2] -= 0.25f;
        PositionByPositionDecoder reference = new PositionByPositionDecoder(gpt);
        try (GptDecoder alone = new GptDecoder(gpt, 1); GptDecoder team = new GptDecoder(gpt, 2, false)) {
            for (int t : tokens) {
                float[] expected = reference.next(t).clone();
                assertArrayEquals(expected, alone.next(t), "alone");
                assertArrayEquals(expected, team.next(t), "team");
            }
            float[] after = reference.next(3);
            assertArrayEquals(after, alone.next(3));
            assertFalse(java.util.Arrays.equals(before, after), "the change shows in the logits");
        }
    }

    @Test
    void sampledTextIsTheTextThePositionByPositionDecoderGives() {
        Gpt gpt = new Gpt(ModelConfig.gpt(67, 64, 4, 2, 16, 0f), new Rng(13));
        gpt.train(false);
        var sampler = new NextTokenSampler(SamplingSettings.defaults());
        int[] cached = new Generator(gpt, sampler, true).generate(new int[] {1}, 120, new Rng(4), null);
        PositionByPositionDecoder reference = new PositionByPositionDecoder(gpt);
        Rng rng = new Rng(4);
        float[] logits = reference.next(1);
        for (int i = 0; i < cached.length; i++) {
            int next = sampler.sample(logits, 0, 67, rng);
            assertEquals(next, cached[i], "token " + i);
            logits = reference.next(next);
        }
    }

    /** 3 heads and 50 hidden units (train --hidden 50): contract's parts are groups of 16, 17 and 17 units. */
    private static Gpt unevenGroups() {
        return new Gpt(new ModelConfig(ModelKind.GPT, 67, 24, 3, 2, 12, 0f, 50), new Rng(8));
    }

    @Test
    void hiddenUnitsThatHeadsDoNotDivideMatchTheReferenceAndTheForwardPass() {
        Gpt gpt = unevenGroups();
        gpt.train(false);
        int[] tokens = new int[30];
        Rng rng = new Rng(3);
        for (int i = 0; i < tokens.length; i++) tokens[i] = (int) (rng.nextFloat() * 67);
        PositionByPositionDecoder reference = new PositionByPositionDecoder(gpt);
        try (GptDecoder decoder = new GptDecoder(gpt, 2, false); var noGrad = GradMode.off()) {
            for (int t = 0; t < tokens.length; t++) {
                float[] logits = decoder.next(tokens[t]);
                assertArrayEquals(reference.next(tokens[t]), logits, "token " + t);
                if (t < 12) { // within the first window the full forward pass sees the same context
                    float[] full = gpt.forward(java.util.Arrays.copyOf(tokens, t + 1), 1, t + 1).data();
                    for (int j = 0; j < 67; j++) assertEquals(full[t * 67 + j], logits[j], 1e-4f, "position " + t + ", logit " + j);
                }
            }
        }
    }

    /**
     * A team splits heads and columns between threads; each logit must still be the same float as on one
     * thread, token after token, through several windows. Widths that leave ragged slices:
     * 67 logits, 3 heads of 8, and more threads than heads.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "threads={0}, adaptive={1}")
    @org.junit.jupiter.params.provider.CsvSource({"2, false", "3, false", "5, false", "2, true"})
    void aTeamGivesBitForBitTheLogitsOfOneThread(int threads, boolean adaptive) {
        for (Gpt gpt : new Gpt[] {model(), new Gpt(ModelConfig.gpt(67, 64, 4, 2, 40, 0f), new Rng(6)), unevenGroups()}) {
            gpt.train(false);
            int vocab = gpt.config().vocabSize();
            Rng rng = new Rng(threads);
            try (GptDecoder alone = new GptDecoder(gpt, 1); GptDecoder team = new GptDecoder(gpt, threads, adaptive)) {
                for (int t = 0; t < 150; t++) {
                    int token = (int) (rng.nextFloat() * vocab);
                    float[] expected = alone.next(token).clone();
                    assertArrayEquals(expected, team.next(token), "token " + t + " of vocab " + vocab);
                }
            }
        }
    }

    /**
     * The caller alone computing each token while the team's member 1 encodes the next window's row, as the
     * pace may choose; and that way and the team's in turn, every few tokens (the team's next-window rows
     * then read what member 1 wrote): the same floats as one thread, through several windows and a reset.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "team every {0} tokens")
    @org.junit.jupiter.params.provider.ValueSource(ints = {0, 3, 7})
    void theCallerWithMemberOneEncodingTheNextWindowGivesBitForBitTheLogitsOfOneThread(int every) {
        for (Gpt gpt : new Gpt[] {model(), new Gpt(ModelConfig.gpt(67, 64, 4, 2, 40, 0f), new Rng(6)), unevenGroups()}) {
            gpt.train(false);
            int vocab = gpt.config().vocabSize();
            Rng rng = new Rng(every + 1);
            try (GptDecoder alone = new GptDecoder(gpt, 1); GptDecoder helped = new GptDecoder(gpt, 2)) {
                int[] tokens = {0};
                helped.teamAt = position -> every > 0 && tokens[0] % every == 0;
                for (int t = 0; t < 150; t++, tokens[0]++) {
                    if (t == 100) {
                        alone.reset();
                        helped.reset();
                    }
                    int token = (int) (rng.nextFloat() * vocab);
                    float[] expected = alone.next(token).clone();
                    assertArrayEquals(expected, helped.next(token), "token " + t + " of vocab " + vocab);
                }
                assertNotNull(helped.team()); // member 1 did encode
            }
        }
    }

    @Test
    void aDecoderWithThreadsRecordsTheSameAttentionAsOneThreadOnTheCallersThread() {
        Gpt gpt = model();
        int[] tokens = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3};
        java.util.List<String> one = new java.util.ArrayList<>(), two = new java.util.ArrayList<>();
        Thread caller = Thread.currentThread();
        try (GptDecoder a = new GptDecoder(gpt, 1); GptDecoder b = new GptDecoder(gpt, 2, false)) {
            a.recordAttention((layer, head, pos, w, n) -> one.add(layer + "/" + head + "/" + pos + java.util.Arrays.toString(java.util.Arrays.copyOf(w, n))));
            b.recordAttention((layer, head, pos, w, n) -> {
                assertEquals(caller, Thread.currentThread());
                two.add(layer + "/" + head + "/" + pos + java.util.Arrays.toString(java.util.Arrays.copyOf(w, n)));
            });
            for (int t : tokens) assertArrayEquals(a.next(t).clone(), b.next(t));
        }
        // 2 layers x 3 heads per new position; the next window's positions, encoded beside them, are not reported
        assertEquals(2 * 3 * tokens.length, one.size());
        assertEquals(one, two);
    }

    /**
     * The pace is fed durations here, so the choice is the test's: a probe of the team (slow) and one of the
     * caller alone (fast) make it run alone for 2 x 14 windows; a new decoder of the same shape goes on with
     * that run where the first left it, and probes again only when it is over.
     */
    @Test
    void aNewDecoderGoesOnWithTheLastDecodersChoiceOfTeamOrAlone() {
        String shape = "test " + System.nanoTime();
        int window = 4;
        GptDecoder.Pace first = new GptDecoder.Pace(true, window, shape, 0);
        assertTrue(first.useTeam()); // a shape never seen: the team is probed first
        for (int t = 0; t < window; t++) first.took(1_000_000);
        assertFalse(first.useTeam()); // then the caller alone
        assertTrue(first.prefersTeam()); // tokens that are not timed go the way last chosen: none yet, the team
        for (int t = 0; t < window; t++) first.took(1_000);
        assertFalse(first.prefersTeam());
        for (int t = 0; t < window; t++) {
            assertFalse(first.useTeam()); // alone won: the first window of its run
            first.took(1_000);
        }
        GptDecoder.Pace second = new GptDecoder.Pace(true, window, shape, 0);
        assertFalse(second.prefersTeam());
        int alone = 0;
        while (!second.useTeam()) {
            for (int t = 0; t < window; t++) second.took(1_000);
            alone++;
        }
        assertEquals(28 - 1, alone); // the run's other windows, then a new probe of the team
        // the team winning a probe is remembered too
        for (int t = 0; t < window; t++) second.took(1_000);
        for (int t = 0; t < window; t++) second.took(1_000_000);
        assertTrue(second.useTeam());
        GptDecoder.Pace third = new GptDecoder.Pace(true, window, shape, 0);
        assertTrue(third.useTeam());
        assertTrue(third.prefersTeam());
        for (int t = 0; t < window; t++) third.took(1_000);
        assertTrue(third.useTeam()); // on the team's run, not probing the caller alone
        assertTrue(new GptDecoder.Pace(true, window, shape + " other", 0).useTeam()); // another shape: its own probe
    }

    /**
     * Generation makes a decoder per reply; a closed decoder's team (its threads) goes to the next one of
     * the same size. Only two are kept: the teams of more decoders closed at once are ended.
     */
    @Test
    void aClosedDecodersTeamServesTheNextDecoderAndAtMostTwoAreKept() {
        Gpt gpt = model();
        dev.toygpt.kernels.Team first;
        try (GptDecoder a = new GptDecoder(gpt, 2, false)) {
            a.next(1);
            first = a.team();
        }
        assertTrue(first.isOpen());
        GptDecoder[] open = new GptDecoder[4];
        dev.toygpt.kernels.Team[] teams = new dev.toygpt.kernels.Team[open.length];
        for (int i = 0; i < open.length; i++) {
            open[i] = new GptDecoder(gpt, 2, false);
            open[i].next(1);
            teams[i] = open[i].team();
        }
        assertSame(first, teams[0]);
        assertEquals(4, java.util.Arrays.stream(teams).distinct().count());
        for (GptDecoder d : open) d.close();
        assertEquals(2, java.util.Arrays.stream(teams).filter(dev.toygpt.kernels.Team::isOpen).count());
        try (GptDecoder alone = new GptDecoder(gpt, 1); GptDecoder again = new GptDecoder(gpt, 2, false)) {
            alone.next(1);
            again.next(1);
            assertTrue(java.util.Arrays.asList(teams).contains(again.team()));
            assertArrayEquals(alone.next(2), again.next(2)); // a kept team computes as a new one
        }
    }

    /** A fresh adaptive decoder whose pace prefers the team runs its first tokens, not timed, on the team. */
    @Test
    void theFirstTokensGoTheWayTheLastChoiceWent() {
        Gpt gpt = new Gpt(ModelConfig.gpt(61, 32, 2, 1, 16, 0f), new Rng(12)); // a shape no other test uses
        gpt.train(false);
        try (GptDecoder d = new GptDecoder(gpt, 2, true)) {
            d.next(1);
            assertNotNull(d.team(), "the first token ran on the team");
        }
    }

    /**
     * A team that keeps winning runs twice as long each time (so the windows alone that probe it cost less and
     * less), and its run ends at the first window whose median token takes half again as long as the probe's
     * (the processors have moved apart): the next window probes the team, the one after the caller alone.
     */
    @Test
    void aTeamThatKeepsWinningIsProbedLessOftenAndItsRunEndsWhenItSlowsDown() {
        int window = 4;
        GptDecoder.Pace pace = new GptDecoder.Pace(true, window, "test team runs " + System.nanoTime(), 0);
        int[] teamWindows = new int[3];
        for (int cycle = 0; cycle < 3; cycle++) {
            while (pace.useTeam()) {
                for (int t = 0; t < window; t++) pace.took(10_000);
                teamWindows[cycle]++;
            }
            for (int t = 0; t < window; t++) pace.took(20_000); // alone: slower, the team wins again
        }
        // the first probe's team window; a run of 2 x 14 windows and the next probe's; then 4 x 14 and the next
        assertArrayEquals(new int[] {1, 2 * GptDecoder.Pace.RUN + 1, 4 * GptDecoder.Pace.RUN + 1}, teamWindows);
        for (int w = 0; w < 5; w++) {
            assertTrue(pace.useTeam());
            for (int t = 0; t < window; t++) pace.took(14_000); // 1.4 times as long: not slow enough to probe
        }
        for (int t = 0; t < window; t++) pace.took(16_000); // 1.6 times: the run ends
        assertTrue(pace.useTeam(), "the probe's team window");
        for (int t = 0; t < window; t++) pace.took(10_000);
        assertFalse(pace.useTeam(), "the probe's window alone, right after the slow window");
    }

    /**
     * Until the team has run its first warmTokens tokens (while the JIT may not have compiled its code), a probe
     * it loses is followed by one window alone and the next probe; once it has, the runs alone lengthen.
     */
    @Test
    void aTeamThatLosesWhileItsCodeMayBeColdIsProbedAgainAfterOneWindow() {
        int window = 4, warm = 20;
        GptDecoder.Pace pace = new GptDecoder.Pace(true, window, "test cold team " + System.nanoTime(), warm);
        java.util.List<Integer> aloneRuns = new java.util.ArrayList<>(), teamSoFar = new java.util.ArrayList<>();
        int teamTokens = 0;
        for (int probe = 0; probe < 14; probe++) {
            assertTrue(pace.useTeam(), "probe " + probe);
            int tokens = 0;
            do {
                pace.took(1_000_000); // slow: stopped once its timed tokens pass twice the last window alone
                tokens++;
            } while (pace.useTeam() && tokens < window);
            teamSoFar.add(teamTokens += tokens);
            int windows = 0;
            while (!pace.useTeam()) { // the probe's window alone, then the run's
                for (int t = 0; t < window; t++) pace.took(1_000);
                windows++;
            }
            aloneRuns.add(windows - 1);
        }
        int cold = (int) teamSoFar.stream().filter(n -> n < warm).count();
        assertTrue(cold >= 5, "the team ran " + teamSoFar); // probes stopped early: a few tokens each
        for (int i = 0; i < cold; i++) assertEquals(1, aloneRuns.get(i), "run alone after cold probe " + i + ": " + aloneRuns);
        assertEquals(java.util.List.of(2, 4, 8), aloneRuns.subList(cold, cold + 3), aloneRuns.toString());
    }

    /** One token held up (a preemption) in the team's window does not make a team twice as fast lose. */
    @Test
    void aProbeJudgesEachWindowByItsMedianToken() {
        int window = 8;
        GptDecoder.Pace pace = new GptDecoder.Pace(true, window, "test median " + System.nanoTime(), 0);
        for (int t = 0; t < window; t++) pace.took(t == 3 ? 50_000_000 : 10_000); // the team, one token held up
        assertFalse(pace.useTeam());
        for (int t = 0; t < window; t++) pace.took(20_000); // alone: twice as slow, but 160 us in all, not 50 ms
        assertTrue(pace.prefersTeam());
        assertTrue(pace.useTeam());
    }

    /**
     * Alone wins a probe (here by far, as while the JIT has not yet compiled the team's code): its run of
     * windows is long, but it ends after MAX_ALONE_NANOS of tokens, and then the team is probed again. And a
     * probe of a team that is much slower stops once its tokens took twice the last alone window.
     */
    @Test
    void aRunAloneEndsAfterItsTimeAndAProbeOfASlowTeamStopsEarly() {
        int window = 4;
        GptDecoder.Pace pace = new GptDecoder.Pace(true, window, "test bounds " + System.nanoTime(), 0);
        for (int t = 0; t < window; t++) pace.took(50_000_000); // the team: slow
        for (int t = 0; t < window; t++) pace.took(5_000_000); // alone
        assertFalse(pace.prefersTeam());
        long alone = 0;
        int windows = 0;
        while (!pace.useTeam()) {
            for (int t = 0; t < window; t++) pace.took(5_000_000);
            alone += window * 5_000_000L;
            windows++;
        }
        assertTrue(windows < 14 * 2, "the run of 28 windows ended by time: " + windows);
        assertTrue(alone >= GptDecoder.Pace.MAX_RUN_NANOS && alone < GptDecoder.Pace.MAX_RUN_NANOS + window * 5_000_000L, "alone for " + alone + " ns");
        // the probe of the team: its first token is not timed; the next two take 20 ms each, past twice 3 x 5 ms
        pace.took(50_000_000);
        pace.took(20_000_000);
        assertTrue(pace.useTeam());
        pace.took(20_000_000);
        assertFalse(pace.useTeam(), "the probe stopped after 2 of its 3 timed tokens; now the window alone");
        for (int t = 0; t < window; t++) pace.took(5_000_000);
        assertFalse(pace.prefersTeam());
    }

    @Test
    void generationOnSeveralThreadsWritesTheSameTextAsOnOne() {
        Gpt gpt = new Gpt(ModelConfig.gpt(67, 64, 4, 2, 40, 0f), new Rng(7));
        int saved = dev.toygpt.kernels.Parallel.threads();
        try {
            int[][] texts = new int[2][];
            for (int threads = 1; threads <= 2; threads++) {
                dev.toygpt.kernels.Parallel.setThreads(threads);
                var sampler = new NextTokenSampler(SamplingSettings.defaults());
                texts[threads - 1] = new Generator(gpt, sampler, true).generate(new int[] {1}, 300, new Rng(3), null);
            }
            assertArrayEquals(texts[0], texts[1]);
        } finally {
            dev.toygpt.kernels.Parallel.setThreads(saved);
        }
    }
}
