package dev.toygpt.models;

import dev.toygpt.autograd.F;
import dev.toygpt.autograd.Tensor;
import dev.toygpt.nn.Embedding;
import dev.toygpt.nn.LayerNorm;
import dev.toygpt.nn.Linear;
import dev.toygpt.nn.Module;
import dev.toygpt.nn.StateDict;
import dev.toygpt.util.Rng;

import java.util.ArrayList;
import java.util.List;

/**
 * The GPT of the lecture: token and position embeddings, n_layer blocks of
 * (LayerNorm -> causal multi-head self-attention -> residual, LayerNorm -> feed-forward -> residual),
 * a final LayerNorm and a linear head that gives the next-token logits.
 */
public final class Gpt extends LanguageModel {
    final Embedding tokenEmbeddingTable;
    final Embedding positionEmbeddingTable;
    final List<Block> blocks = new ArrayList<>();
    final LayerNorm lnF;
    final Linear lmHead;

    public Gpt(ModelConfig config, Rng rng) {
        super(config);
        int v = config.vocabSize(), c = config.nEmbd();
        tokenEmbeddingTable = addModule("token_embedding_table", new Embedding(v, c, rng));
        positionEmbeddingTable = addModule("position_embedding_table", new Embedding(config.blockSize(), c, rng));
        for (int i = 0; i < config.nLayer(); i++) {
            blocks.add(addModule("blocks." + i, new Block(config, dropoutRng, rng)));
        }
        lnF = addModule("ln_f", new LayerNorm(c));
        lmHead = addModule("lm_head", new Linear(c, v, true, rng));
    }

    @Override
    public int contextLength() {
        return config().blockSize();
    }

    @Override
    public Tensor forward(int[] idx, int batch, int time) {
        if (time > config().blockSize()) {
            throw new IllegalArgumentException("sequence of " + time + " tokens is longer than block_size " + config().blockSize());
        }
        Tensor tokEmb = tokenEmbeddingTable.forward(idx, batch, time);           // (B, T, C)
        Tensor posEmb = positionEmbeddingTable.forward(positions(time), time);   // (T, C)
        Tensor x = F.add(tokEmb, posEmb);                                       // (B, T, C)
        for (Block block : blocks) x = block.forward(x);
        x = lnF.forward(x);
        return lmHead.forward(x);                                               // (B, T, V)
    }

    private static int[] positions(int time) {
        int[] p = new int[time];
        for (int t = 0; t < time; t++) p[t] = t;
        return p;
    }

    /** Communication (attention) followed by computation (feed-forward), each with a residual connection. */
    static final class Block extends Module {
        final MultiHeadAttention sa;
        final FeedForward ffwd;
        final LayerNorm ln1;
        final LayerNorm ln2;

        Block(ModelConfig config, Rng dropoutRng, Rng rng) {
            sa = addModule("sa", new MultiHeadAttention(config, dropoutRng, rng));
            ffwd = addModule("ffwd", new FeedForward(config, dropoutRng, rng));
            ln1 = addModule("ln1", new LayerNorm(config.nEmbd()));
            ln2 = addModule("ln2", new LayerNorm(config.nEmbd()));
        }

        Tensor forward(Tensor x) {
            x = F.add(x, sa.forward(ln1.forward(x)));
            x = F.add(x, ffwd.forward(ln2.forward(x)));
            return x;
        }
    }

    /**
     * n_head heads of causal self-attention side by side, then a projection. Each head h has its own key,
     * query and value weights of shape (head_size, C); they are stored stacked, head h in rows
     * [h*head_size, (h+1)*head_size) of one (C, C) matrix, so all heads are computed in one matrix product.
     */
    static final class MultiHeadAttention extends Module {
        private final int nHead;
        private final float dropout;
        private final Rng dropoutRng;
        final Linear key;
        final Linear query;
        final Linear value;
        final Linear proj;

        MultiHeadAttention(ModelConfig config, Rng dropoutRng, Rng rng) {
            int c = config.nEmbd();
            this.nHead = config.nHead();
            this.dropout = config.dropout();
            this.dropoutRng = dropoutRng;
            key = addModule("key", new Linear(c, c, false, rng));
            query = addModule("query", new Linear(c, c, false, rng));
            value = addModule("value", new Linear(c, c, false, rng));
            proj = addModule("proj", new Linear(c, c, true, rng));
        }

        Tensor forward(Tensor x) {
            Tensor k = key.forward(x);    // (B, T, C): every head's keys, side by side
            Tensor q = query.forward(x);
            Tensor v = value.forward(x);
            // per head: softmax(mask(q kᵀ / sqrt(head_size))) v, with dropout on the weights; heads concatenated
            Tensor heads = F.causalSelfAttention(q, k, v, nHead, isTraining() ? dropout : 0f, dropoutRng);
            return F.dropout(proj.forward(heads), isTraining() ? dropout : 0f, dropoutRng);
        }

        /** PyTorch names each head's weights: heads.{h}.key.weight, heads.{h}.query.weight, heads.{h}.value.weight. */
        @Override
        public void collectState(String prefix, StateDict out) {
            int c = key.weight.dim(1), hs = c / nHead;
            for (int h = 0; h < nHead; h++) {
                String head = prefix + "heads." + h + ".";
                int offset = h * hs * c;
                int[] shape = {hs, c};
                out.put(head + "key.weight", new StateDict.Entry(key.weight, offset, shape));
                out.put(head + "query.weight", new StateDict.Entry(query.weight, offset, shape));
                out.put(head + "value.weight", new StateDict.Entry(value.weight, offset, shape));
            }
            proj.collectState(prefix + "proj.", out);
        }
    }

    /** A position-wise network: Linear(C, 4C) -> ReLU -> Linear(4C, C) -> dropout (net.0 and net.2 in PyTorch). */
    static final class FeedForward extends Module {
        final Linear expand;
        final Linear contract;
        private final float dropout;
        private final Rng dropoutRng;

        FeedForward(ModelConfig config, Rng dropoutRng, Rng rng) {
            int c = config.nEmbd();
            expand = addModule("net.0", new Linear(c, config.hidden(), true, rng));
            contract = addModule("net.2", new Linear(config.hidden(), c, true, rng));
            this.dropout = config.dropout();
            this.dropoutRng = dropoutRng;
        }

        Tensor forward(Tensor x) {
            Tensor h = expand.forwardRelu(x); // F.relu(expand.forward(x)), without keeping the (B, T, 4C) values before the ReLU
            return F.dropout(contract.forward(h), isTraining() ? dropout : 0f, dropoutRng);
        }
    }
}
