package dev.toygpt.models;

import dev.toygpt.kernels.Attention;
import dev.toygpt.kernels.LayerNorm;
import dev.toygpt.kernels.MatMul;
import dev.toygpt.nn.Linear;

import java.util.Arrays;

/**
 * Generation with a key/value cache. A GPT's keys and values at a position depend only on the tokens up
 * to it, so they are computed once, kept, and each new token runs the model on one position: the cost of a
 * token no longer grows with the context.
 *
 * <p>Positions are absolute (0 .. block_size-1), so when the context is full the cache cannot simply slide;
 * the decoder then keeps the last half of the tokens and recomputes their cache once, which makes the
 * visible context vary between block_size/2 and block_size tokens. {@link dev.toygpt.sample.Generator}
 * can instead recompute the whole window for every token, exactly as the notebook does.
 */
public final class GptDecoder {
    private final Gpt gpt;
    private final int c, heads, blockSize, vocab, keyStride;
    // per layer: keys transposed, (C, keyStride), column t = position t; values (block_size, C), row t = position t
    private final float[][] keys, values;
    private final int[] tokens;           // the tokens whose keys and values are cached
    // Each weight transposed once: a product with one vector then runs along contiguous rows.
    private final java.util.Map<Linear, float[]> transposed = new java.util.IdentityHashMap<>();
    private int length;
    // scratch buffers for one position
    private final float[] x, h, q, k, v, att, scores, ff, logits, mean = new float[1], rstd = new float[1];
    /** Receives the attention weights of each new position when set (the playground's heatmaps); usually null. */
    private AttentionRecorder recorder;

    /** Told, for each layer of each new position, every head's softmax weights over the positions so far. */
    @FunctionalInterface
    public interface AttentionRecorder {
        /** weights holds positions floats for one head: the weight of each key 0 .. position. */
        void record(int layer, int head, int position, float[] weights, int positions);
    }

    public GptDecoder(Gpt gpt) {
        this.gpt = gpt;
        ModelConfig cfg = gpt.config();
        c = cfg.nEmbd();
        heads = cfg.nHead();
        blockSize = cfg.blockSize();
        vocab = cfg.vocabSize();
        keyStride = Attention.keyCacheStride(blockSize);
        keys = new float[cfg.nLayer()][c * keyStride];
        values = new float[cfg.nLayer()][blockSize * c];
        tokens = new int[blockSize];
        x = new float[c];
        h = new float[c];
        q = new float[c];
        k = new float[c];
        v = new float[c];
        att = new float[c];
        scores = new float[keyStride];
        ff = new float[cfg.hidden()];
        logits = new float[vocab];
    }

    /** Reports attention weights to recorder from now on (null: stop). */
    public void recordAttention(AttentionRecorder recorder) {
        this.recorder = recorder;
    }

    /** Forgets the context. */
    public void reset() {
        length = 0;
    }

    /** Appends a token and returns the logits for the token after it (a buffer reused by the next call). */
    public float[] next(int token) {
        if (length == blockSize) { // full: keep the newest half, recomputed at positions 0 .. half-1
            int keep = blockSize / 2;
            int[] recent = Arrays.copyOfRange(tokens, blockSize - keep, blockSize);
            length = 0;
            for (int t : recent) forward(t);
        }
        return forward(token);
    }

    private float[] forward(int token) {
        int pos = length;
        tokens[pos] = token;
        float[] tok = gpt.tokenEmbeddingTable.weight.data(), posEmb = gpt.positionEmbeddingTable.weight.data();
        for (int i = 0; i < c; i++) x[i] = tok[token * c + i] + posEmb[pos * c + i];
        for (int l = 0; l < gpt.blocks.size(); l++) {
            Gpt.Block block = gpt.blocks.get(l);
            Gpt.MultiHeadAttention sa = block.sa;
            // x = x + proj(attention(ln1(x)))
            layerNorm(block.ln1, x, h);
            matvec(sa.query, h, q);
            matvec(sa.key, h, k);
            matvec(sa.value, h, v);
            for (int i = 0; i < c; i++) keys[l][i * keyStride + pos] = k[i];
            System.arraycopy(v, 0, values[l], pos * c, c);
            Attention.decode(q, keys[l], keyStride, values[l], att, scores, pos + 1, c, heads);
            if (recorder != null) recordWeights(l, pos);
            matvec(sa.proj, att, h);
            for (int i = 0; i < c; i++) x[i] += h[i];
            // x = x + ffwd(ln2(x))
            layerNorm(block.ln2, x, h);
            matvec(block.ffwd.expand, h, ff);
            for (int i = 0; i < ff.length; i++) ff[i] = Math.max(ff[i], 0f);
            matvec(block.ffwd.contract, ff, h);
            for (int i = 0; i < c; i++) x[i] += h[i];
        }
        layerNorm(gpt.lnF, x, h);
        matvec(gpt.lmHead, h, logits);
        length++;
        return logits;
    }

    /**
     * Each head's weights for the newest position, softmax(q·k / sqrt(head_size)) over the cached keys, as
     * the attention kernel computes them (it keeps only one head's at a time, so they are computed again here).
     */
    private void recordWeights(int layer, int pos) {
        int hs = c / heads, positions = pos + 1;
        float scale = (float) (1.0 / Math.sqrt(hs));
        float[] row = new float[positions];
        for (int head = 0; head < heads; head++) {
            for (int s = 0; s < positions; s++) {
                float dot = 0f;
                for (int d = head * hs; d < (head + 1) * hs; d++) dot += q[d] * keys[layer][d * keyStride + s];
                row[s] = dot * scale;
            }
            dev.toygpt.kernels.Softmax.forward(row, row, 1, positions);
            recorder.record(layer, head, pos, row, positions);
        }
    }

    /** out = W in + b, with W read from its transposed copy so each input scales one contiguous row. */
    private void matvec(Linear layer, float[] in, float[] out) {
        float[] wt = transposed.computeIfAbsent(layer, l -> {
            float[] t = new float[l.weight.size()];
            MatMul.transpose(l.weight.data(), t, l.weight.dim(0), l.weight.dim(1));
            return t;
        });
        MatMul.vecMat(in, wt, layer.bias == null ? null : layer.bias.data(), out, in.length, out.length);
    }

    private void layerNorm(dev.toygpt.nn.LayerNorm ln, float[] in, float[] out) {
        LayerNorm.forward(in, ln.weight.data(), ln.bias.data(), out, mean, rstd, 1, in.length, dev.toygpt.nn.LayerNorm.EPS);
    }

    public int vocabSize() {
        return vocab;
    }
}
