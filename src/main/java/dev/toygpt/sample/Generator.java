package dev.toygpt.sample;

import dev.toygpt.autograd.GradMode;
import dev.toygpt.autograd.Tensor;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.util.Rng;

import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Generates text one token at a time: run the model on the last block_size tokens, take the logits of the
 * last position, pick the next token, append it, repeat.
 */
public final class Generator {
    private final LanguageModel model;
    private final NextTokenSampler sampler;

    public Generator(LanguageModel model, NextTokenSampler sampler) {
        this.model = model;
        this.sampler = sampler;
    }

    /**
     * Continues prompt (at least one token) by maxNewTokens tokens, handing each new token to onToken as
     * soon as it is chosen; returns only the new tokens.
     */
    public int[] generate(int[] prompt, int maxNewTokens, Rng rng, IntConsumer onToken) {
        if (prompt.length == 0) throw new IllegalArgumentException("generation needs at least one token of context");
        int window = model.contextLength();
        int vocab = model.config().vocabSize();
        int[] tokens = Arrays.copyOf(prompt, prompt.length + maxNewTokens);
        int length = prompt.length;
        boolean wasTraining = model.isTraining();
        model.train(false);
        try (var noGrad = GradMode.off()) {
            for (int i = 0; i < maxNewTokens; i++) {
                int start = Math.max(0, length - window); // crop the context to what the model can see
                int[] context = Arrays.copyOfRange(tokens, start, length);
                Tensor logits = model.forward(context, 1, context.length);
                int next = sampler.sample(logits.data(), (context.length - 1) * vocab, vocab, rng);
                tokens[length++] = next;
                if (onToken != null) onToken.accept(next);
            }
        } finally {
            model.train(wasTraining);
        }
        return Arrays.copyOfRange(tokens, prompt.length, length);
    }
}
