package dev.toygpt.sample;

import dev.toygpt.autograd.GradMode;
import dev.toygpt.autograd.Tensor;
import dev.toygpt.kernels.Parallel;
import dev.toygpt.models.Gpt;
import dev.toygpt.models.GptDecoder;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.util.Rng;

import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Generates text one token at a time: run the model on the context, take the logits of the last
 * position, pick the next token, append it, repeat.
 *
 * <p>For a GPT the default is a key/value cache ({@link GptDecoder}): each token costs one position. With
 * the cache off, every token runs the model on the last block_size tokens, as the notebook does.
 */
public final class Generator {
    private final LanguageModel model;
    private final NextTokenSampler sampler;
    private final boolean useCache;

    public Generator(LanguageModel model, NextTokenSampler sampler) {
        this(model, sampler, true);
    }

    public Generator(LanguageModel model, NextTokenSampler sampler, boolean useCache) {
        this.model = model;
        this.sampler = sampler;
        this.useCache = useCache;
    }

    /** Receives each generated token with the probability the sampler gave it when it was drawn. */
    @FunctionalInterface
    public interface TokenListener {
        void accept(int token, double probability);
    }

    /**
     * Continues prompt (at least one token) by maxNewTokens tokens, handing each new token to onToken as
     * soon as it is chosen; returns only the new tokens.
     */
    public int[] generate(int[] prompt, int maxNewTokens, Rng rng, IntConsumer onToken) {
        return generateWithProbabilities(prompt, maxNewTokens, rng, onToken == null ? null : (id, p) -> onToken.accept(id));
    }

    /**
     * The same, also telling onToken each token's probability. onToken may throw to stop generating (the
     * exception reaches the caller): a reply that ended, a reader that went away.
     */
    public int[] generateWithProbabilities(int[] prompt, int maxNewTokens, Rng rng, TokenListener onToken) {
        if (prompt.length == 0) throw new IllegalArgumentException("generation needs at least one token of context");
        boolean wasTraining = model.isTraining();
        if (wasTraining) model.train(false); // a model in eval mode is not written to: several threads may share it
        try (var noGrad = GradMode.off()) {
            return useCache && model instanceof Gpt gpt
                    ? generateCached(gpt, prompt, maxNewTokens, rng, onToken)
                    : generateByWindow(prompt, maxNewTokens, rng, onToken);
        } finally {
            if (wasTraining) model.train(true);
        }
    }

    /**
     * The logits for the token after context, computed as generation computes the first one: the model runs
     * on the last {@link LanguageModel#contextLength()} tokens. A fresh array of vocabulary size.
     */
    public static float[] nextLogits(LanguageModel model, int[] context) {
        if (context.length == 0) throw new IllegalArgumentException("the model needs at least one token of context");
        int[] window = Arrays.copyOfRange(context, Math.max(0, context.length - model.contextLength()), context.length);
        int vocab = model.config().vocabSize();
        boolean wasTraining = model.isTraining();
        if (wasTraining) model.train(false); // a model in eval mode is not written to: several threads may share it
        try (var noGrad = GradMode.off()) {
            Tensor logits = model.forward(window, 1, window.length);
            return Arrays.copyOfRange(logits.data(), (window.length - 1) * vocab, window.length * vocab);
        } finally {
            if (wasTraining) model.train(true);
        }
    }

    private int[] generateByWindow(int[] prompt, int maxNewTokens, Rng rng, TokenListener onToken) {
        int window = model.contextLength();
        int vocab = model.config().vocabSize();
        int[] tokens = Arrays.copyOf(prompt, prompt.length + maxNewTokens);
        int length = prompt.length;
        for (int i = 0; i < maxNewTokens; i++) {
            int start = Math.max(0, length - window); // crop the context to what the model can see
            int[] context = Arrays.copyOfRange(tokens, start, length);
            Tensor logits = model.forward(context, 1, context.length);
            int next = sampler.sample(logits.data(), (context.length - 1) * vocab, vocab, rng);
            tokens[length++] = next;
            if (onToken != null) onToken.accept(next, sampler.lastProbability());
        }
        return Arrays.copyOfRange(tokens, prompt.length, length);
    }

    private int[] generateCached(Gpt gpt, int[] prompt, int maxNewTokens, Rng rng, TokenListener onToken) {
        try (GptDecoder decoder = new GptDecoder(gpt, Parallel.threads())) {
            return generateCached(decoder, gpt, prompt, maxNewTokens, rng, onToken);
        }
    }

    private int[] generateCached(GptDecoder decoder, Gpt gpt, int[] prompt, int maxNewTokens, Rng rng, TokenListener onToken) {
        int window = gpt.contextLength();
        float[] logits = null;
        for (int i = Math.max(0, prompt.length - window); i < prompt.length; i++) logits = decoder.next(prompt[i]);
        int[] out = new int[maxNewTokens];
        for (int i = 0; i < maxNewTokens; i++) {
            int next = sampler.sample(logits, 0, decoder.vocabSize(), rng);
            out[i] = next;
            if (onToken != null) onToken.accept(next, sampler.lastProbability());
            if (i + 1 < maxNewTokens) logits = decoder.next(next);
        }
        return out;
    }
}
