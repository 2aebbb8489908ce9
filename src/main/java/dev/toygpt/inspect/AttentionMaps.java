package dev.toygpt.inspect;

import dev.toygpt.models.Gpt;
import dev.toygpt.models.GptDecoder;

/**
 * Where each attention head of a GPT looks: for a text of T tokens (at most block_size), the T x T weights
 * of every layer and head, row q holding the softmax over the keys 0..q (the causal mask leaves the
 * entries after q at 0, each row sums to 1).
 *
 * <p>The tokens are fed to the key/value-cache decoder one at a time; the decoder reports, for each new
 * position, every head's weights over the positions so far: that is row q of each map.
 *
 * @param weights [layer][head][query][key]
 */
public record AttentionMaps(int[] tokens, float[][][][] weights) {

    public static AttentionMaps of(Gpt gpt, int[] tokens) {
        return of(new GptDecoder(gpt), gpt, tokens);
    }

    /**
     * The same with a decoder of gpt kept between calls (the playground keeps a few per checkpoint): a new
     * decoder makes its own transposed copy of every weight, which costs more than the maps themselves.
     * The decoder is reset first and left reset; it must not be used by another thread meanwhile.
     */
    public static AttentionMaps of(GptDecoder decoder, Gpt gpt, int[] tokens) {
        int t = tokens.length, block = gpt.config().blockSize();
        if (t == 0) throw new IllegalArgumentException("attention needs at least one token");
        if (t > block) throw new IllegalArgumentException(t + " tokens are more than the block size " + block);
        float[][][][] w = new float[gpt.config().nLayer()][gpt.config().nHead()][t][t];
        decoder.reset();
        decoder.recordAttention((layer, head, position, row, positions) ->
                System.arraycopy(row, 0, w[layer][head][position], 0, positions));
        try (var noGrad = dev.toygpt.autograd.GradMode.off()) {
            for (int token : tokens) decoder.next(token);
        } finally {
            decoder.recordAttention(null);
            decoder.reset();
        }
        return new AttentionMaps(tokens.clone(), w);
    }

    public int layers() {
        return weights.length;
    }

    public int heads() {
        return weights.length == 0 ? 0 : weights[0].length;
    }
}
