package dev.toygpt.optim;

import dev.toygpt.autograd.Tensor;
import dev.toygpt.kernels.AdamStep;
import dev.toygpt.kernels.Parallel;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Adam with bias correction, as torch.optim.Adam / AdamW. With decoupled weight decay (AdamW) the
 * parameters shrink by lr * weight_decay before the Adam step; without it (Adam) the decay is added to
 * the gradient.
 */
public final class Adam extends Optimizer {
    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private final boolean decoupled;
    private final float[][] m; // running mean of gradients
    private final float[][] v; // running mean of squared gradients

    public Adam(List<Tensor> params, float learningRate, float beta1, float beta2, float eps, float weightDecay, boolean decoupled) {
        super(params, learningRate);
        if (beta1 < 0f || beta1 >= 1f || beta2 < 0f || beta2 >= 1f) throw new IllegalArgumentException("betas must be in [0, 1)");
        if (weightDecay < 0f) throw new IllegalArgumentException("--weight-decay must be >= 0, got " + weightDecay);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.decoupled = decoupled;
        this.m = new float[params.size()][];
        this.v = new float[params.size()][];
        for (int i = 0; i < params.size(); i++) {
            m[i] = new float[params.get(i).size()];
            v[i] = new float[params.get(i).size()];
        }
    }

    /** torch.optim.AdamW defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
    public static Adam adamW(List<Tensor> params, float learningRate) {
        return new Adam(params, learningRate, 0.9f, 0.999f, 1e-8f, 0.01f, true);
    }

    /** torch.optim.Adam defaults: betas (0.9, 0.999), eps 1e-8, no weight decay. */
    public static Adam adam(List<Tensor> params, float learningRate) {
        return new Adam(params, learningRate, 0.9f, 0.999f, 1e-8f, 0f, false);
    }

    @Override
    protected void update(int index, float[] p, float[] g) {
        update(index, p, g, 0, p.length);
    }

    /** Elements [from, to) of parameter number index: one pass, SIMD where it can. */
    private void update(int index, float[] p, float[] g, int from, int to) {
        double bias1 = 1 - Math.pow(beta1, steps);
        double bias2 = 1 - Math.pow(beta2, steps);
        float stepSize = (float) (learningRate / bias1);
        float bias2Sqrt = (float) Math.sqrt(bias2);
        float decay = decoupled ? 1f - learningRate * weightDecay : 1f;
        float l2 = decoupled ? 0f : weightDecay;
        AdamStep.update(p, g, m[index], v[index], from, to, beta1, beta2, eps, stepSize, bias2Sqrt, decay, l2);
    }

    /**
     * All parameters as one loop over pieces of at most PIECE elements, shared out between threads: one hand-off
     * per step instead of one per parameter, and the small parameters (LayerNorms, biases) ride along. Every
     * element gets the same update whichever thread runs its piece.
     */
    @Override
    protected void updateAll() {
        int count = 0;
        for (int i = 0; i < params.size(); i++) {
            if (params.get(i).grad() != null) count += (params.get(i).size() + PIECE - 1) / PIECE;
        }
        int[] pieces = new int[count * 2]; // parameter index, start
        int n = 0;
        for (int i = 0; i < params.size(); i++) {
            if (params.get(i).grad() == null) continue;
            for (int from = 0; from < params.get(i).size(); from += PIECE) {
                pieces[n++] = i;
                pieces[n++] = from;
            }
        }
        Parallel.forRange(count, 16L * PIECE, (start, end) -> {
            for (int k = start; k < end; k++) {
                Tensor p = params.get(pieces[2 * k]);
                int from = pieces[2 * k + 1];
                update(pieces[2 * k], p.data(), p.grad(), from, Math.min(p.size(), from + PIECE));
            }
        });
    }

    /** Elements per piece of {@link #updateAll}'s loop. */
    private static final int PIECE = 4096;

    @Override
    public Map<String, float[]> state() {
        Map<String, float[]> s = new HashMap<>();
        for (int i = 0; i < m.length; i++) {
            s.put("exp_avg." + i, m[i].clone());
            s.put("exp_avg_sq." + i, v[i].clone());
        }
        return s;
    }

    @Override
    public void loadState(Map<String, float[]> state, long steps) {
        float[][] newM = new float[m.length][], newV = new float[v.length][];
        for (int i = 0; i < m.length; i++) { // all checked before any is replaced: a bad file changes nothing
            newM[i] = require(state, "exp_avg." + i, m[i].length);
            newV[i] = require(state, "exp_avg_sq." + i, v[i].length);
        }
        System.arraycopy(newM, 0, m, 0, m.length);
        System.arraycopy(newV, 0, v, 0, v.length);
        this.steps = steps;
    }

    @Override
    public String name() {
        return decoupled ? "adamw" : "adam";
    }
}
