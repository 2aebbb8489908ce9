package dev.toygpt.sample;

import dev.toygpt.kernels.Softmax;
import dev.toygpt.util.Rng;

import java.util.Arrays;
import java.util.Objects;

/**
 * Turns the logits for one position into the next token id.
 *
 * <p>Pipeline: greedy takes the argmax; otherwise logits are divided by the temperature, cut to the top-k
 * largest, passed through softmax, cut to the top-p nucleus, and one token is drawn from what is left.
 *
 * <p>This runs once per generated character, so the working arrays are kept between calls and only grow when
 * a larger vocabulary arrives. As a consequence an instance is <b>not</b> thread-safe; use one per thread.
 *
 * <p>All randomness comes from the {@link Rng} passed in: a non-greedy {@link #sample} consumes exactly one
 * {@code nextDouble()}, whatever the filters keep, so the same seed always gives the same text and the random
 * stream does not drift when settings change. Greedy sampling does not touch the {@code Rng} at all.
 */
public final class NextTokenSampler {
    private final SamplingSettings settings;

    /** Unnormalised probability of each token after all filters (0 for dropped tokens). */
    private double[] weights = new double[0];
    /** Token ids ranked from the largest logit down, packed as sort keys; see {@link #rankKey}. */
    private long[] ranking = new long[0];
    /** The probability the last {@link #sample} gave the token it drew (1 when greedy). */
    private double lastProbability = Double.NaN;

    public NextTokenSampler(SamplingSettings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    public SamplingSettings settings() {
        return settings;
    }

    /**
     * Picks the next token from {@code logits[offset .. offset + vocabSize)}.
     *
     * @return a token id in {@code [0, vocabSize)}, relative to {@code offset}
     * @throws IllegalArgumentException if a logit is NaN or +Infinity, or all are -Infinity
     */
    public int sample(float[] logits, int offset, int vocabSize, Rng rng) {
        checkSlice(logits, offset, vocabSize);
        Objects.requireNonNull(rng, "rng");
        int argmax = checkedArgmax(logits, offset, vocabSize);
        if (settings.greedy()) {
            lastProbability = 1;
            return argmax;
        }

        double total = fillWeights(logits, offset, vocabSize, logits[offset + argmax]);
        // Multinomial draw: walk the cumulative distribution until it passes a uniform point in [0, total).
        double u = rng.nextDouble() * total;
        double cumulative = 0;
        int lastKept = argmax; // argmax always survives the filters
        for (int i = 0; i < vocabSize; i++) {
            double w = weights[i];
            if (w > 0) {
                cumulative += w;
                lastKept = i;
                if (u < cumulative) {
                    lastProbability = w / total;
                    return i;
                }
            }
        }
        lastProbability = weights[lastKept] / total;
        return lastKept; // only reached if rounding leaves u a hair above the final cumulative sum
    }

    /** The probability the last {@link #sample} call gave the token it returned, after all filters (1 when greedy). */
    public double lastProbability() {
        return lastProbability;
    }

    /**
     * The distribution {@link #sample} draws from, after temperature, top-k, softmax and top-p.
     * Allocates a fresh array each call; meant for tests and for showing what the sampler does.
     */
    public float[] probabilities(float[] logits, int offset, int vocabSize) {
        checkSlice(logits, offset, vocabSize);
        int argmax = checkedArgmax(logits, offset, vocabSize);
        float[] probs = new float[vocabSize];
        if (settings.greedy()) {
            probs[argmax] = 1f;
            return probs;
        }
        double total = fillWeights(logits, offset, vocabSize, logits[offset + argmax]);
        for (int i = 0; i < vocabSize; i++) probs[i] = (float) (weights[i] / total);
        return probs;
    }

    /** Fills {@link #weights} with the filtered, unnormalised distribution and returns its sum. */
    private double fillWeights(float[] logits, int offset, int n, float maxLogit) {
        if (weights.length < Softmax.expRoom(n) || ranking.length < n) { // weights has room past n: a bigger n may fit
            weights = new double[Softmax.expRoom(n)];
            ranking = new long[n];
        }
        // Temperature, then the softmax numerators. Subtracting the max before exp keeps every exponent <= 0,
        // so nothing overflows; doing it in double means tiny temperatures cannot overflow the division.
        double t = settings.temperature();
        for (int i = 0; i < n; i++) weights[i] = (double) logits[offset + i] - maxLogit;
        if (t != 1) for (int i = 0; i < n; i++) weights[i] /= t; // a division a token, skipped where it changes nothing
        // Within 2^-48 of Math.exp: a draw could only change where the uniform point falls that close to the
        // edge of a token's share, about once in 10^13 tokens.
        Softmax.expInPlace(weights, n);

        int kept = settings.usesTopK() ? Math.min(settings.topK(), n) : n;
        if (kept < n || settings.usesTopP()) {
            // Both filters keep a prefix of the tokens ranked by logit; temperature and softmax preserve order.
            for (int i = 0; i < n; i++) ranking[i] = rankKey(logits[offset + i], i);
            Arrays.sort(ranking, 0, n);

            if (settings.usesTopP()) {
                double keptTotal = 0;
                for (int r = 0; r < kept; r++) keptTotal += weights[tokenAt(r)];
                double target = settings.topP() * keptTotal;
                double cumulative = 0;
                int nucleus = 0;
                while (nucleus < kept && cumulative < target) {
                    cumulative += weights[tokenAt(nucleus)];
                    nucleus++;
                }
                kept = Math.max(1, nucleus);
            }
            for (int r = kept; r < n; r++) weights[tokenAt(r)] = 0;
        }

        double total = 0;
        for (int i = 0; i < n; i++) total += weights[i];
        return total; // renormalising is dividing by this, which the callers do
    }

    private int tokenAt(int rank) {
        return (int) ranking[rank]; // low 32 bits hold the token id
    }

    /**
     * Packs (logit, token id) into one long whose natural order is: larger logit first, then lower token id.
     * Sorting these primitive keys ranks tokens without boxing, and makes ties at a top-k boundary keep the
     * lowest ids, matching the greedy tie rule.
     */
    private static long rankKey(float logit, int token) {
        int bits = Float.floatToIntBits(logit + 0f); // + 0f turns -0.0 into 0.0 so they tie
        int ascending = bits ^ ((bits >> 31) & 0x7fffffff); // signed-int order now equals float order
        return ((long) ~ascending << 32) | token; // ~ flips it to descending; token ids are non-negative
    }

    /** Index of the largest logit, lowest index on ties; also rejects logits that cannot be sampled from. */
    private static int checkedArgmax(float[] logits, int offset, int n) {
        int best = -1;
        float bestValue = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float v = logits[offset + i];
            if (Float.isNaN(v) || v == Float.POSITIVE_INFINITY) {
                throw new IllegalArgumentException("logit for token " + i + " is " + v
                        + "; the model output is broken (diverged weights?)");
            }
            if (v > bestValue) {
                bestValue = v;
                best = i;
            }
        }
        if (best < 0) throw new IllegalArgumentException("all " + n + " logits are -Infinity; nothing to sample");
        return best;
    }

    private static void checkSlice(float[] logits, int offset, int vocabSize) {
        Objects.requireNonNull(logits, "logits");
        if (vocabSize < 1) throw new IllegalArgumentException("vocabSize must be at least 1: " + vocabSize);
        Objects.checkFromIndexSize(offset, vocabSize, logits.length);
    }
}
