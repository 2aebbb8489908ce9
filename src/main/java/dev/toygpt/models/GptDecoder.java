package dev.toygpt.models;

import dev.toygpt.kernels.Attention;
import dev.toygpt.kernels.LayerNorm;
import dev.toygpt.kernels.MatVec;
import dev.toygpt.kernels.MatVec.Then;
import dev.toygpt.nn.Linear;

/**
 * Generation with a key/value cache. A GPT's keys and values at a position depend only on the tokens up
 * to it, so they are computed once, kept, and each new token runs the model on one position: the cost of a
 * token no longer grows with the context.
 *
 * <p>Positions are absolute (0 .. block_size-1), so when the context is full the cache cannot simply slide;
 * the decoder then keeps the last half of the tokens and recomputes their cache, which makes the visible
 * context vary between block_size/2 and block_size tokens. Those kept positions are encoded in one pass,
 * several rows per weight read, which gives the same numbers as encoding them one at a time (each output
 * is the same sum in the same order) for a fraction of the time. {@link dev.toygpt.sample.Generator} can
 * instead recompute the whole window for every token, exactly as the notebook does.
 *
 * <p>A token's time goes mostly into reading the weights: one position does two floating-point operations
 * per weight. So every Linear is packed once, in the order a token uses them, into one array that a token
 * reads from start to end; q, k and v are one product, and the ReLU and residual adds are done as the
 * products store their results.
 */
public final class GptDecoder {
    private final Gpt gpt;
    private final int c, heads, layers, blockSize, vocab, hidden, keyStride;
    // per layer: keys transposed, (C, keyStride), column t = position t; values (block_size, C), row t = position t
    private final float[][] keys, values;
    private final int[] tokens;           // the tokens whose keys and values are cached
    private int length;
    /** Every Linear's weight packed for {@link MatVec}, one after another in the order a token uses them. */
    private final float[] weights;
    private final Product[] qkv, proj, expand, contract;
    private final Product lmHead;
    // Activations of the positions being encoded, one row each: block_size/2 rows when the window is recomputed,
    // row 0 otherwise.
    private final float[] x, h, qkvOut, att, ff, mean, rstd;
    private final float[] scores, last, logits;
    /** Receives the attention weights of each new position when set (the playground's heatmaps); usually null. */
    private AttentionRecorder recorder;

    /** Told, for each layer of each new position, every head's softmax weights over the positions so far. */
    @FunctionalInterface
    public interface AttentionRecorder {
        /** weights holds positions floats for one head: the weight of each key 0 .. position. */
        void record(int layer, int head, int position, float[] weights, int positions);
    }

    /** One Linear within {@link #weights}: out = in · W + bias, W packed at offset. */
    private record Product(int offset, int in, int out, float[] bias) {}

    public GptDecoder(Gpt gpt) {
        this.gpt = gpt;
        ModelConfig cfg = gpt.config();
        c = cfg.nEmbd();
        heads = cfg.nHead();
        layers = cfg.nLayer();
        blockSize = cfg.blockSize();
        vocab = cfg.vocabSize();
        hidden = cfg.hidden();
        keyStride = Attention.keyCacheStride(blockSize);
        keys = new float[layers][c * keyStride];
        values = new float[layers][blockSize * c];
        tokens = new int[blockSize];

        int size = layers * (MatVec.packedSize(c, 3 * c) + MatVec.packedSize(c, c) + MatVec.packedSize(c, hidden)
                + MatVec.packedSize(hidden, c)) + MatVec.packedSize(c, vocab);
        weights = new float[size];
        qkv = new Product[layers];
        proj = new Product[layers];
        expand = new Product[layers];
        contract = new Product[layers];
        int offset = 0;
        for (int l = 0; l < layers; l++) {
            Gpt.Block block = gpt.blocks.get(l);
            Gpt.MultiHeadAttention sa = block.sa;
            // q, k and v side by side: one product, its output q | k | v
            float[] w = new float[3 * c * c];
            System.arraycopy(sa.query.weight.data(), 0, w, 0, c * c);
            System.arraycopy(sa.key.weight.data(), 0, w, c * c, c * c);
            System.arraycopy(sa.value.weight.data(), 0, w, 2 * c * c, c * c);
            qkv[l] = pack(w, c, 3 * c, qkvBias(sa), offset);
            offset += MatVec.packedSize(c, 3 * c);
            proj[l] = pack(sa.proj, offset);
            offset += MatVec.packedSize(c, c);
            expand[l] = pack(block.ffwd.expand, offset);
            offset += MatVec.packedSize(c, hidden);
            contract[l] = pack(block.ffwd.contract, offset);
            offset += MatVec.packedSize(hidden, c);
        }
        lmHead = pack(gpt.lmHead, offset);

        int rows = Math.max(1, blockSize / 2);
        x = new float[rows * c];
        h = new float[rows * c];
        qkvOut = new float[rows * 3 * c];
        att = new float[rows * c];
        ff = new float[rows * hidden];
        mean = new float[rows];
        rstd = new float[rows];
        scores = new float[keyStride];
        last = new float[c];
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
            System.arraycopy(tokens, blockSize - keep, tokens, 0, keep);
            length = 0;
            encode(keep, false);
        }
        tokens[length] = token;
        encode(1, true);
        return logits;
    }

    /**
     * Runs the model on positions length .. length+n-1 at once (their tokens already in {@link #tokens}),
     * caching their keys and values; with wantLogits, leaves the last position's logits in {@link #logits}.
     */
    private void encode(int n, boolean wantLogits) {
        int p0 = length;
        float[] tok = gpt.tokenEmbeddingTable.weight.data(), posEmb = gpt.positionEmbeddingTable.weight.data();
        for (int t = 0; t < n; t++) {
            int token = tokens[p0 + t], pos = p0 + t;
            for (int i = 0; i < c; i++) x[t * c + i] = tok[token * c + i] + posEmb[pos * c + i];
        }
        for (int l = 0; l < layers; l++) {
            Gpt.Block block = gpt.blocks.get(l);
            // x = x + proj(attention(ln1(x)))
            layerNorm(block.ln1, x, h, n);
            product(qkv[l], h, qkvOut, n, Then.STORE);
            for (int t = 0; t < n; t++) {
                int row = t * 3 * c, pos = p0 + t;
                for (int i = 0; i < c; i++) keys[l][i * keyStride + pos] = qkvOut[row + c + i];
                System.arraycopy(qkvOut, row + 2 * c, values[l], pos * c, c);
            }
            // The last layer's output at kept positions feeds nothing: only its keys and values are needed
            // (its attention is still computed when someone records it).
            boolean onlyKeysAndValues = !wantLogits && l == layers - 1;
            if (onlyKeysAndValues && recorder == null) break;
            for (int t = 0; t < n; t++) { // position p0+t sees positions 0 .. p0+t: causal, as in training
                Attention.decode(qkvOut, t * 3 * c, keys[l], keyStride, values[l], att, t * c, scores, p0 + t + 1, c, heads);
                if (recorder != null) recordWeights(l, p0 + t, qkvOut, t * 3 * c);
            }
            if (onlyKeysAndValues) break;
            product(proj[l], att, x, n, Then.ADD);
            // x = x + ffwd(ln2(x))
            layerNorm(block.ln2, x, h, n);
            product(expand[l], h, ff, n, Then.RELU);
            product(contract[l], ff, x, n, Then.ADD);
        }
        length += n;
        if (wantLogits) {
            System.arraycopy(x, (n - 1) * c, last, 0, c);
            layerNorm(gpt.lnF, last, h, 1);
            product(lmHead, h, logits, 1, Then.STORE);
        }
    }

    /**
     * Each head's weights for one position, softmax(q·k / sqrt(head_size)) over the cached keys, as the
     * attention kernel computes them (it keeps only one head's at a time, so they are computed again here).
     */
    private void recordWeights(int layer, int pos, float[] q, int qOff) {
        int hs = c / heads, positions = pos + 1;
        float scale = (float) (1.0 / Math.sqrt(hs));
        float[] row = new float[positions];
        for (int head = 0; head < heads; head++) {
            for (int s = 0; s < positions; s++) {
                float dot = 0f;
                for (int d = head * hs; d < (head + 1) * hs; d++) dot += q[qOff + d] * keys[layer][d * keyStride + s];
                row[s] = dot * scale;
            }
            dev.toygpt.kernels.Softmax.forward(row, row, 1, positions);
            recorder.record(layer, head, pos, row, positions);
        }
    }

    /** Rows 0 .. n-1 of out (then)= in · W + bias. */
    private void product(Product p, float[] in, float[] out, int n, Then then) {
        MatVec.applyRows(in, weights, p.offset, p.bias, out, 0, n, p.in, p.out, then);
    }

    private void layerNorm(dev.toygpt.nn.LayerNorm ln, float[] in, float[] out, int n) {
        LayerNorm.forwardOnThisThread(in, ln.weight.data(), ln.bias.data(), out, mean, rstd, n, c, dev.toygpt.nn.LayerNorm.EPS);
    }

    private Product pack(Linear layer, int offset) {
        return pack(layer.weight.data(), layer.weight.dim(1), layer.weight.dim(0), layer.bias == null ? null : layer.bias.data(), offset);
    }

    private Product pack(float[] w, int in, int out, float[] bias, int offset) {
        MatVec.pack(w, in, out, weights, offset);
        return new Product(offset, in, out, bias);
    }

    /** q, k and v's biases side by side (zeros for one without), or null when none has one (the course's heads). */
    private float[] qkvBias(Gpt.MultiHeadAttention sa) {
        Linear[] parts = {sa.query, sa.key, sa.value};
        if (sa.query.bias == null && sa.key.bias == null && sa.value.bias == null) return null;
        float[] b = new float[3 * c];
        for (int i = 0; i < 3; i++) {
            if (parts[i].bias != null) System.arraycopy(parts[i].bias.data(), 0, b, i * c, c);
        }
        return b;
    }

    public int vocabSize() {
        return vocab;
    }
}
