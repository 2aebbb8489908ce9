package dev.toygpt.models;

import dev.toygpt.kernels.Attention;
import dev.toygpt.kernels.LayerNorm;
import dev.toygpt.kernels.MatMul;
import dev.toygpt.nn.Linear;

import java.util.Arrays;

/**
 * The decoder as it was before its kept positions were encoded in one pass: one position at a time, each
 * Linear a product with its transposed weight, separate q, k and v, ReLU and residual adds as loops of their
 * own, and proj's and contract's sums taken in parts per head as GptDecoder takes them (so that any number
 * of threads gives the same floats). Kept as the reference that {@link GptDecoder} must match bit for bit.
 */
final class PositionByPositionDecoder {
    private final Gpt gpt;
    private final int c, heads, blockSize, keyStride;
    private final float[][] keys, values;
    private final int[] tokens;
    private int length;
    private final float[] x, h, q, k, v, att, scores, ff, logits, mean = new float[1], rstd = new float[1];

    PositionByPositionDecoder(Gpt gpt) {
        this.gpt = gpt;
        ModelConfig cfg = gpt.config();
        c = cfg.nEmbd();
        heads = cfg.nHead();
        blockSize = cfg.blockSize();
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
        scores = new float[heads * keyStride];
        ff = new float[cfg.hidden()];
        logits = new float[cfg.vocabSize()];
    }

    float[] next(int token) {
        if (length == blockSize) {
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
            layerNorm(block.ln1, x, h);
            matvec(block.sa.query, h, q);
            matvec(block.sa.key, h, k);
            matvec(block.sa.value, h, v);
            for (int i = 0; i < c; i++) keys[l][i * keyStride + pos] = k[i];
            System.arraycopy(v, 0, values[l], pos * c, c);
            Attention.decode(q, new int[] {0}, new float[][] {keys[l]}, keyStride, new float[][] {values[l]}, att, new int[] {0},
                    scores, new int[] {pos + 1}, 1, c, heads, 0, heads);
            addInParts(block.sa.proj, att, heads);
            layerNorm(block.ln2, x, h);
            matvec(block.ffwd.expand, h, ff);
            for (int i = 0; i < ff.length; i++) ff[i] = Math.max(ff[i], 0f);
            addInParts(block.ffwd.contract, ff, heads);
        }
        layerNorm(gpt.lnF, x, h);
        matvec(gpt.lmHead, h, logits);
        length++;
        return logits;
    }

    /**
     * x += layer(in), its sum taken in parts: part g over inputs g * k / parts up to (g + 1) * k / parts, each
     * part's product without the bias, the parts added in order, then the bias.
     */
    private void addInParts(Linear layer, float[] in, int parts) {
        int n = layer.weight.dim(0), k = layer.weight.dim(1);
        float[] sum = new float[n], part = new float[n];
        for (int g = 0; g < parts; g++) {
            int from = g * k / parts, size = (g + 1) * k / parts - from;
            float[] w = new float[n * size];
            for (int j = 0; j < n; j++) System.arraycopy(layer.weight.data(), j * k + from, w, j * size, size);
            float[] wt = new float[w.length];
            MatMul.transpose(w, wt, n, size);
            MatMul.vecMat(Arrays.copyOfRange(in, from, from + size), wt, null, part, size, n);
            for (int j = 0; j < n; j++) sum[j] = g == 0 ? part[j] : sum[j] + part[j];
        }
        for (int j = 0; j < n; j++) x[j] += layer.bias == null ? sum[j] : sum[j] + layer.bias.data()[j];
    }

    private static void matvec(Linear layer, float[] in, float[] out) {
        float[] wt = new float[layer.weight.size()];
        MatMul.transpose(layer.weight.data(), wt, layer.weight.dim(0), layer.weight.dim(1));
        MatMul.vecMat(in, wt, layer.bias == null ? null : layer.bias.data(), out, in.length, out.length);
    }

    private void layerNorm(dev.toygpt.nn.LayerNorm ln, float[] in, float[] out) {
        LayerNorm.forward(in, ln.weight.data(), ln.bias.data(), out, mean, rstd, 1, in.length, dev.toygpt.nn.LayerNorm.EPS);
    }
}
