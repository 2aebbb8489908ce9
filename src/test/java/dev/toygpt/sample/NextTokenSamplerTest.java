package dev.toygpt.sample;

import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class NextTokenSamplerTest {

    private static NextTokenSampler sampler(float temperature, int topK, float topP, boolean greedy) {
        return new NextTokenSampler(new SamplingSettings(temperature, topK, topP, greedy));
    }

    /** Logits whose softmax is exactly the given probabilities. */
    private static float[] logitsOf(double... probs) {
        float[] logits = new float[probs.length];
        for (int i = 0; i < probs.length; i++) logits[i] = (float) Math.log(probs[i]);
        return logits;
    }

    private static float[] randomLogits(Rng rng, int n) {
        float[] logits = new float[n];
        for (int i = 0; i < n; i++) logits[i] = (float) (3 * rng.nextGaussian());
        return logits;
    }

    /** Reference softmax(logits / temperature), written independently in double precision. */
    private static double[] softmax(float[] logits, double temperature) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) max = Math.max(max, l / temperature);
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logits[i] / temperature - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }

    @Test
    void greedyPicksArgmaxWithLowestIndexOnTiesAndUsesNoRandomness() {
        NextTokenSampler greedy = sampler(1f, 0, 1f, true);
        Rng rng = new Rng(7);
        long before = rng.state();
        assertEquals(2, greedy.sample(new float[] {0.1f, -3f, 4.5f, 4.4f, 1f}, 0, 5, rng));
        assertEquals(1, greedy.sample(new float[] {0f, 2f, -1f, 2f, 2f}, 0, 5, rng));
        assertEquals(0, greedy.sample(new float[] {-7f}, 0, 1, rng));
        assertEquals(before, rng.state(), "greedy must not consume random numbers");
        assertArrayEquals(new float[] {0f, 1f, 0f, 0f}, greedy.probabilities(new float[] {0f, 9f, 1f, 9f}, 0, 4));
    }

    @Test
    void drawsTheTokensADrawWithMathExpWouldDraw() {
        // The sampler's exponentials are within 2^-48 of Math.exp's; a draw with Math.exp's weights, written
        // out here, must pick the same token for every seed (and temperature, which divides before exp).
        for (double temperature : new double[] {1, 0.7, 1.6}) {
            NextTokenSampler s = sampler((float) temperature, 0, 1f, false);
            double t = (float) temperature;
            for (long seed = 0; seed < 3000; seed++) {
                Rng rng = new Rng(seed);
                float[] logits = randomLogits(rng, 65);
                float max = Float.NEGATIVE_INFINITY;
                for (float l : logits) max = Math.max(max, l);
                double[] w = new double[65];
                double total = 0;
                for (int i = 0; i < 65; i++) total += w[i] = Math.exp(((double) logits[i] - max) / t);
                Rng copy = new Rng(seed + 1_000_000), same = new Rng(seed + 1_000_000);
                double u = copy.nextDouble() * total, cumulative = 0;
                int expected = 64;
                for (int i = 0; i < 65; i++) {
                    cumulative += w[i];
                    if (u < cumulative) {
                        expected = i;
                        break;
                    }
                }
                assertEquals(expected, s.sample(logits, 0, 65, same), "seed " + seed + ", temperature " + temperature);
                assertEquals(w[expected] / total, s.lastProbability(), 1e-12);
            }
        }
    }

    @Test
    void aLargerVocabularyAfterASmallerOneIsRankedWhole() {
        // The exponentials' array is rounded up to whole vectors, so a vocabulary a few tokens larger fits in
        // it; the ranking of top-k and top-p must grow all the same.
        NextTokenSampler s = sampler(1f, 3, 0.9f, false);
        Rng rng = new Rng(3);
        for (int n : new int[] {65, 70, 66, 200}) {
            float[] logits = randomLogits(rng, n);
            logits[n - 1] = 50f; // the last token is far ahead: top-k and top-p keep only it
            for (int i = 0; i < 20; i++) assertEquals(n - 1, s.sample(logits, 0, n, rng), "vocabulary of " + n);
        }
    }

    @Test
    void topKOneEqualsGreedyForManySeeds() {
        NextTokenSampler topOne = sampler(1.3f, 1, 1f, false);
        NextTokenSampler greedy = sampler(1f, 0, 1f, true);
        for (long seed = 0; seed < 500; seed++) {
            Rng rng = new Rng(seed);
            float[] logits = randomLogits(rng, 65);
            if (seed % 5 == 0) logits[40] = logits[greedy.sample(logits, 0, 65, rng)]; // force a tie sometimes
            int expected = greedy.sample(logits, 0, 65, rng);
            assertEquals(expected, topOne.sample(logits, 0, 65, rng), "seed " + seed);
        }
    }

    @Test
    void topKTwoNeverLeavesTheTwoLargest() {
        NextTokenSampler topTwo = sampler(2f, 2, 1f, false);
        Rng rng = new Rng(11);
        float[] logits = {1.0f, 1.2f, 0.9f, 1.1f, 0.95f}; // nearly flat, so a leak would show up quickly
        int[] counts = new int[logits.length];
        for (int i = 0; i < 5_000; i++) counts[topTwo.sample(logits, 0, logits.length, rng)]++;
        assertEquals(0, counts[0] + counts[2] + counts[4]);
        assertTrue(counts[1] > 0 && counts[3] > 0, "both kept tokens should appear");

        for (long seed = 0; seed < 200; seed++) {
            Rng r = new Rng(seed);
            float[] random = randomLogits(r, 30);
            double[] p = softmax(random, 1);
            int token = topTwo.sample(random, 0, random.length, r);
            int above = 0; // how many tokens have a strictly larger logit than the one drawn
            for (float l : random) if (l > random[token]) above++;
            assertTrue(above <= 1, "seed " + seed + " drew token of probability " + p[token]);
        }
    }

    @Test
    void topKKeepsExactlyKOnBoundaryTiesByIndexOrder() {
        float[] logits = {1f, 3f, 2f, 2f, 2f, 0f};
        float[] p = sampler(1f, 3, 1f, false).probabilities(logits, 0, logits.length);
        double[] ref = softmax(new float[] {3f, 2f, 2f}, 1);
        assertArrayEquals(new float[] {0f, (float) ref[0], (float) ref[1], (float) ref[2], 0f, 0f}, p, 1e-6f);
    }

    @Test
    void topPHalfAlwaysEmitsTokenWithProbabilitySixTenths() {
        float[] logits = logitsOf(0.1, 0.2, 0.6, 0.1);
        NextTokenSampler nucleus = sampler(1f, 0, 0.5f, false);
        assertArrayEquals(new float[] {0f, 0f, 1f, 0f}, nucleus.probabilities(logits, 0, 4));
        Rng rng = new Rng(3);
        for (int i = 0; i < 2_000; i++) assertEquals(2, nucleus.sample(logits, 0, 4, rng));
    }

    @Test
    void topPKeepsSmallestSetReachingPAndRenormalises() {
        float[] logits = logitsOf(0.2, 0.5, 0.05, 0.25);
        // Ranked: 0.5 (token 1), 0.25 (token 3), 0.2 (token 0), 0.05 (token 2).
        assertArrayEquals(new float[] {0f, 1f, 0f, 0f},
                sampler(1f, 0, 0.4f, false).probabilities(logits, 0, 4), 1e-6f);
        assertArrayEquals(new float[] {0f, 2f / 3, 0f, 1f / 3},
                sampler(1f, 0, 0.7f, false).probabilities(logits, 0, 4), 1e-6f);
        assertArrayEquals(new float[] {0.2f / 0.95f, 0.5f / 0.95f, 0f, 0.25f / 0.95f},
                sampler(1f, 0, 0.9f, false).probabilities(logits, 0, 4), 1e-6f);
        assertArrayEquals(new float[] {0.2f, 0.5f, 0.05f, 0.25f},
                sampler(1f, 0, 0.99f, false).probabilities(logits, 0, 4), 1e-6f);
    }

    @Test
    void topPAppliesAfterTopK() {
        float[] logits = logitsOf(0.4, 0.3, 0.2, 0.1);
        // top-k 3 leaves 0.4/0.9, 0.3/0.9, 0.2/0.9, and 0.75 of that needs only the first two (0.444 + 0.333);
        // measured against the unfiltered distribution it would need three (0.4 + 0.3 < 0.75).
        assertArrayEquals(new float[] {4f / 7, 3f / 7, 0f, 0f},
                sampler(1f, 3, 0.75f, false).probabilities(logits, 0, 4), 1e-6f);
    }

    @Test
    void topPStopsAsSoonAsCumulativeProbabilityReachesP() {
        // Equal logits give exactly representable probabilities, so "reaches" is an exact equality here.
        assertArrayEquals(new float[] {1f, 0f}, sampler(1f, 0, 0.5f, false).probabilities(new float[2], 0, 2));
        assertArrayEquals(new float[] {1f / 3, 1f / 3, 1f / 3, 0f},
                sampler(1f, 0, 0.75f, false).probabilities(new float[4], 0, 4), 1e-7f);
    }

    @Test
    void temperatureHalfMatchesIndependentSoftmax() {
        float[] logits = {1.5f, -0.25f, 0.75f, 3f, -2f, 0f};
        float[] p = sampler(0.5f, 0, 1f, false).probabilities(logits, 0, logits.length);
        double[] ref = softmax(logits, 0.5);
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            assertEquals(ref[i], p[i], 1e-6, "token " + i);
            sum += p[i];
        }
        assertEquals(1.0, sum, 1e-6);
        // And it really is sharper than temperature 1.
        assertTrue(p[3] > softmax(logits, 1)[3] + 0.1);
    }

    @Test
    void extremeLogitsAndTinyTemperatureStayFinite() {
        float[] logits = {3e38f, -3e38f, 2.9e38f, Float.NEGATIVE_INFINITY};
        float[] p = sampler(1e-30f, 0, 1f, false).probabilities(logits, 0, 4);
        assertArrayEquals(new float[] {1f, 0f, 0f, 0f}, p);
        float[] withInfinity = sampler(1f, 0, 1f, false).probabilities(new float[] {0f, Float.NEGATIVE_INFINITY}, 0, 2);
        assertArrayEquals(new float[] {1f, 0f}, withInfinity);
    }

    @Test
    void empiricalFrequenciesMatchSoftmax() {
        float[] logits = {2f, 1f, 0.5f, -1f, 0f, 1.5f};
        double[] p = softmax(logits, 1);
        NextTokenSampler plain = new NextTokenSampler(SamplingSettings.defaults());
        Rng rng = new Rng(2024);
        int n = 20_000;
        int[] counts = new int[logits.length];
        for (int i = 0; i < n; i++) counts[plain.sample(logits, 0, logits.length, rng)]++;
        for (int i = 0; i < logits.length; i++) {
            double freq = (double) counts[i] / n;
            double standardError = Math.sqrt(p[i] * (1 - p[i]) / n);
            assertEquals(p[i], freq, 4 * standardError, "token " + i);
        }
    }

    @Test
    void empiricalFrequenciesMatchFilteredDistribution() {
        float[] logits = {0.3f, 2f, -0.5f, 1.2f, 1.1f, 0.8f, -2f};
        NextTokenSampler filtered = sampler(0.8f, 5, 0.85f, false);
        float[] p = filtered.probabilities(logits, 0, logits.length);
        Rng rng = new Rng(99);
        int n = 20_000;
        int[] counts = new int[logits.length];
        for (int i = 0; i < n; i++) counts[filtered.sample(logits, 0, logits.length, rng)]++;
        for (int i = 0; i < logits.length; i++) {
            double freq = (double) counts[i] / n;
            if (p[i] == 0f) {
                assertEquals(0, counts[i], "token " + i + " was filtered out");
            } else {
                assertEquals(p[i], freq, 4 * Math.sqrt(p[i] * (1 - p[i]) / n), "token " + i);
            }
        }
    }

    @Test
    void sameSeedGivesSameSequence() {
        float[] logits = randomLogits(new Rng(5), 40);
        NextTokenSampler s = sampler(1.1f, 20, 0.95f, false);
        int[] first = draw(s, logits, new Rng(42), 300);
        int[] second = draw(s, logits, new Rng(42), 300);
        int[] other = draw(s, logits, new Rng(43), 300);
        assertArrayEquals(first, second);
        assertFalse(java.util.Arrays.equals(first, other), "a different seed should give a different sequence");
    }

    @Test
    void eachSampleConsumesExactlyOneDouble() {
        float[] logits = logitsOf(0.1, 0.2, 0.6, 0.1);
        for (NextTokenSampler s : new NextTokenSampler[] {
                sampler(1f, 0, 1f, false), sampler(1f, 1, 1f, false), sampler(0.7f, 2, 0.3f, false)}) {
            Rng used = new Rng(8);
            Rng reference = new Rng(8);
            for (int i = 0; i < 10; i++) {
                s.sample(logits, 0, 4, used);
                reference.nextDouble();
            }
            assertEquals(reference.state(), used.state(), s.settings().toString());
        }
    }

    private static int[] draw(NextTokenSampler s, float[] logits, Rng rng, int count) {
        int[] out = new int[count];
        for (int i = 0; i < count; i++) out[i] = s.sample(logits, 0, logits.length, rng);
        return out;
    }

    @Test
    void worksOnASliceInTheMiddleOfALargerArray() {
        float[] row = {0.5f, -1f, 2f, 0f}; // argmax is token 2
        float[] big = new float[3 * 4];
        java.util.Arrays.fill(big, 50f); // neighbours dominate if the offset were ignored
        System.arraycopy(row, 0, big, 4, 4);

        assertEquals(2, sampler(1f, 0, 1f, true).sample(big, 4, 4, new Rng(1)));

        NextTokenSampler s = sampler(0.9f, 3, 0.9f, false);
        assertArrayEquals(s.probabilities(row, 0, 4), s.probabilities(big, 4, 4));
        Rng a = new Rng(77);
        Rng b = new Rng(77);
        for (int i = 0; i < 500; i++) {
            int token = s.sample(big, 4, 4, a);
            assertTrue(token >= 0 && token < 4);
            assertEquals(s.sample(row, 0, 4, b), token);
        }
        assertThrows(IndexOutOfBoundsException.class, () -> s.sample(big, 10, 4, new Rng(1)));
    }

    @Test
    void scratchBuffersFromALargerVocabularyDoNotLeak() {
        NextTokenSampler s = sampler(1f, 2, 0.99f, false);
        s.probabilities(randomLogits(new Rng(1), 100), 0, 100);
        float[] small = {0f, 1f, 2f};
        double[] ref = softmax(new float[] {1f, 2f}, 1);
        assertArrayEquals(new float[] {0f, (float) ref[0], (float) ref[1]}, s.probabilities(small, 0, 3), 1e-6f);
    }

    @Test
    void rejectsBrokenLogits() {
        NextTokenSampler s = new NextTokenSampler(SamplingSettings.defaults());
        Rng rng = new Rng(0);
        assertThrows(IllegalArgumentException.class, () -> s.sample(new float[] {0f, Float.NaN}, 0, 2, rng));
        assertThrows(IllegalArgumentException.class,
                () -> s.sample(new float[] {0f, Float.POSITIVE_INFINITY}, 0, 2, rng));
        assertThrows(IllegalArgumentException.class,
                () -> s.sample(new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}, 0, 2, rng));
        assertThrows(IllegalArgumentException.class, () -> s.sample(new float[] {1f}, 0, 0, rng));
    }
}
