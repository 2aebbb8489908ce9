package dev.toygpt.nn;

import dev.toygpt.autograd.F;
import dev.toygpt.autograd.Tensor;

/** Normalises each position's features to zero mean and unit variance, then scales and shifts them. */
public final class LayerNorm extends Module {
    public static final float EPS = 1e-5f;
    public final Tensor weight;
    public final Tensor bias;

    public LayerNorm(int features) {
        weight = addParameter("weight", Tensor.parameter(Init.constant(features, 1f), features));
        bias = addParameter("bias", Tensor.parameter(Init.constant(features, 0f), features));
    }

    public Tensor forward(Tensor x) {
        return F.layerNorm(x, weight, bias, EPS);
    }
}
