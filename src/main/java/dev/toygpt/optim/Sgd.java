package dev.toygpt.optim;

import dev.toygpt.autograd.Tensor;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Stochastic gradient descent: p -= lr * g (with optional momentum, as torch.optim.SGD). */
public final class Sgd extends Optimizer {
    private final float momentum;
    private final float[][] velocity;

    public Sgd(List<Tensor> params, float learningRate, float momentum) {
        super(params, learningRate);
        if (momentum < 0f || momentum >= 1f) throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
        this.momentum = momentum;
        this.velocity = new float[params.size()][];
    }

    public Sgd(List<Tensor> params, float learningRate) {
        this(params, learningRate, 0f);
    }

    @Override
    protected void update(int index, float[] p, float[] g) {
        if (momentum == 0f) {
            for (int i = 0; i < p.length; i++) p[i] -= learningRate * g[i];
            return;
        }
        float[] v = velocity[index];
        if (v == null) { // PyTorch starts the buffer at the first gradient
            v = velocity[index] = g.clone();
        } else {
            for (int i = 0; i < p.length; i++) v[i] = momentum * v[i] + g[i];
        }
        for (int i = 0; i < p.length; i++) p[i] -= learningRate * v[i];
    }

    @Override
    public Map<String, float[]> state() {
        Map<String, float[]> s = new HashMap<>();
        for (int i = 0; i < velocity.length; i++) if (velocity[i] != null) s.put("velocity." + i, velocity[i].clone());
        return s;
    }

    @Override
    public void loadState(Map<String, float[]> state, long steps) {
        float[][] loaded = new float[velocity.length][];
        for (int i = 0; i < velocity.length; i++) { // all checked before any is replaced: a bad file changes nothing
            float[] v = state.get("velocity." + i);
            loaded[i] = v == null ? null : require(state, "velocity." + i, params.get(i).size());
        }
        System.arraycopy(loaded, 0, velocity, 0, velocity.length);
        this.steps = steps;
    }

    @Override
    public String name() {
        return "sgd";
    }
}
