package dev.toygpt.sample;

import dev.toygpt.autograd.GradMode;
import dev.toygpt.autograd.Tensor;
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

    /**
     * Continues prompt (at least one token) by maxNewTokens tokens, handing each new token to onToken as
     * soon as it is chosen; returns only the new tokens.
     */
    public int[] generate(int[] prompt, int maxNewTokens, Rng rng, IntConsumer onToken) {
        if (prompt.length == 0) throw new IllegalArgumentException("generation needs at least one token of context");
        boolean wasTraining = model.isTraining();
        model.train(false);
        try (var noGrad = GradMode.off()) {
            return useCache && model instanceof Gpt gpt
                    ? generateCached(gpt, prompt, maxNewTokens, rng, onToken)
                    : generateByWindow(prompt, maxNewTokens, rng, onToken);
        } finally {
            model.train(wasTraining);
        }
    }

    private int[] generateByWindow(int[] prompt, int maxNewTokens, Rng rng, IntConsumer onToken) {
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
            if (onToken != null) onToken.accept(next);
        }
        return Arrays.copyOfRange(tokens, prompt.length, length);
    }

    private int[] generateCached(Gpt gpt, int[] prompt, int maxNewTokens, Rng rng, IntConsumer onToken) {
        GptDecoder decoder = new GptDecoder(gpt);
        int window = gpt.contextLength();
        float[] logits = null;
        for (int i = Math.max(0, prompt.length - window); i < prompt.length; i++) logits = decoder.next(prompt[i]);
        int[] out = new int[maxNewTokens];
        for (int i = 0; i < maxNewTokens; i++) {
            int next = sampler.sample(logits, 0, decoder.vocabSize(), rng);
            out[i] = next;
            if (onToken != null) onToken.accept(next);
            if (i + 1 < maxNewTokens) logits = decoder.next(next);
        }
        return out;
    }
}
