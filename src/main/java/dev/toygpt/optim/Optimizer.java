package dev.toygpt.optim;

import dev.toygpt.autograd.Tensor;

import java.util.List;
import java.util.Map;

/** Updates parameters from their gradients. Subclasses follow PyTorch's update rules exactly. */
public abstract class Optimizer {
    protected final List<Tensor> params;
    protected float learningRate;
    protected long steps;

    protected Optimizer(List<Tensor> params, float learningRate) {
        if (!(learningRate > 0f) || Float.isInfinite(learningRate)) {
            throw new IllegalArgumentException("--lr must be a positive number, got " + learningRate);
        }
        this.params = List.copyOf(params);
        this.learningRate = learningRate;
    }

    /** Applies one update using each parameter's current gradient (a missing gradient counts as zero). */
    public final void step() {
        steps++;
        updateAll();
    }

    /** Updates every parameter that has a gradient, one after the other; a subclass may share the work out. */
    protected void updateAll() {
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            if (p.grad() != null) update(i, p.data(), p.grad());
        }
    }

    /** Updates parameter number index in place; steps already counts this update. */
    protected abstract void update(int index, float[] param, float[] grad);

    public void zeroGrad() {
        for (Tensor p : params) p.zeroGrad();
    }

    public float learningRate() {
        return learningRate;
    }

    public void setLearningRate(float learningRate) {
        this.learningRate = learningRate;
    }

    public long steps() {
        return steps;
    }

    /** Per-parameter buffers (e.g. Adam's moments) by name, for checkpoints. */
    public abstract Map<String, float[]> state();

    /** Restores what state() returned, and the number of steps taken. */
    public abstract void loadState(Map<String, float[]> state, long steps);

    public abstract String name();

    protected static float[] require(Map<String, float[]> state, String key, int size) {
        float[] v = state.get(key);
        if (v == null || v.length != size) {
            throw new IllegalArgumentException("optimizer state '" + key + "' is missing or has the wrong size");
        }
        return v.clone();
    }
}
