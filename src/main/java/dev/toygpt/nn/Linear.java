package dev.toygpt.nn;

import dev.toygpt.autograd.F;
import dev.toygpt.autograd.Tensor;
import dev.toygpt.util.Rng;

/** y = x Wᵀ + b, with W stored as (out_features, in_features) like PyTorch. */
public final class Linear extends Module {
    public final Tensor weight;
    public final Tensor bias; // null when built without bias

    public Linear(int inFeatures, int outFeatures, boolean withBias, Rng rng) {
        double bound = 1.0 / Math.sqrt(inFeatures);
        weight = addParameter("weight", Tensor.parameter(Init.uniform(outFeatures * inFeatures, bound, rng), outFeatures, inFeatures));
        bias = withBias ? addParameter("bias", Tensor.parameter(Init.uniform(outFeatures, bound, rng), outFeatures)) : null;
    }

    public Tensor forward(Tensor x) {
        return F.linear(x, weight, bias);
    }

    /** relu(forward(x)), computed without keeping forward(x). */
    public Tensor forwardRelu(Tensor x) {
        return F.linearRelu(x, weight, bias);
    }
}
