package dev.toygpt.sample;

import dev.toygpt.models.LanguageModel;
import dev.toygpt.text.Vocabulary;
import dev.toygpt.util.Rng;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * What the model thinks of the next character after a text, and what the sampling settings make of it:
 * the plain softmax of the logits and the distribution {@link NextTokenSampler} draws from after
 * temperature, top-k and top-p, both from the same logits. The playground's "one step at a time" panel.
 *
 * @param context  the tokens the model saw (the last context-length ones)
 * @param rawProbs softmax of the logits at temperature 1, no filters
 * @param probs    the sampler's distribution for the settings (one-hot when greedy)
 * @param drawn    a token drawn from probs with the given seed, or -1 when none was asked for
 */
public record NextTokenDistribution(int[] context, float[] rawProbs, float[] probs, int drawn) {

    /** Runs the model once on context and applies the settings; draws a token when seed is not null. */
    public static NextTokenDistribution of(LanguageModel model, int[] context, SamplingSettings settings, Long seed) {
        int[] seen = Prompt.lastTokens(context, model.contextLength());
        float[] logits = Generator.nextLogits(model, seen);
        int v = logits.length;
        float[] raw = new NextTokenSampler(SamplingSettings.defaults()).probabilities(logits, 0, v);
        NextTokenSampler sampler = new NextTokenSampler(settings);
        float[] probs = sampler.probabilities(logits, 0, v);
        int drawn = seed == null ? -1 : sampler.sample(logits, 0, v, new Rng(seed));
        return new NextTokenDistribution(seen, raw, probs, drawn);
    }

    /** The n most likely tokens under probs, most likely first (lower id first on ties). */
    public int[] top(int n) {
        return IntStream.range(0, probs.length).boxed()
                .sorted(Comparator.<Integer>comparingDouble(i -> -probs[i]).thenComparingInt(i -> i))
                .limit(n).mapToInt(Integer::intValue).toArray();
    }

    /** The probability left to the tokens outside top(n). */
    public double rest(int n) {
        double sum = 0;
        for (int i : top(n)) sum += probs[i];
        return Math.max(0, 1 - sum);
    }

    /** Each token of the vocabulary as its character. */
    public static List<String> characters(Vocabulary vocab) {
        List<String> chars = new ArrayList<>(vocab.size());
        for (int i = 0; i < vocab.size(); i++) chars.add(vocab.decode(i));
        return chars;
    }
}
