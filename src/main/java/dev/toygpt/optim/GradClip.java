package dev.toygpt.optim;

import dev.toygpt.autograd.Tensor;

import java.util.List;

/** Gradient-norm clipping, as torch.nn.utils.clip_grad_norm_. */
public final class GradClip {
    private GradClip() {}

    /** Scales all gradients so their joint L2 norm is at most maxNorm; returns the norm before clipping. */
    public static double clipGradNorm(List<Tensor> params, double maxNorm) {
        double sq = 0;
        for (Tensor p : params) {
            float[] g = p.grad();
            if (g == null) continue;
            for (float x : g) sq += (double) x * x;
        }
        double norm = Math.sqrt(sq);
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1) {
            for (Tensor p : params) {
                float[] g = p.grad();
                if (g == null) continue;
                for (int i = 0; i < g.length; i++) g[i] *= (float) coef;
            }
        }
        return norm;
    }
}
