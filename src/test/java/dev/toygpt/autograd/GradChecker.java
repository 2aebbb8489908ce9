package dev.toygpt.autograd;

import dev.toygpt.util.Rng;

import java.util.Arrays;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * Finite-difference gradient checker for the autograd operations.
 *
 * <p>For a forward function {@code f} (which reads the current data of its input tensors) it builds the scalar
 * loss {@code L = sum(f() ⊙ R)} with a fixed random projection {@code R}. The analytic gradient comes from
 * {@link Tensor#backward()} on that loss built with {@link F#mul} and {@link F#sum}; the numerical one from
 * central differences in double precision: each input element is nudged up and down by about {@code eps} (the
 * step actually taken after rounding to float32 is used), and the projection of the float32 outputs onto R
 * is accumulated in double.
 *
 * <p>An element passes when {@code |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|)}. A check
 * is also refused when every numerical gradient is tiny, so that an op that (wrongly) ignores an input cannot
 * pass vacuously.
 */
final class GradChecker {
    static final double DEFAULT_EPS = 1e-2;
    static final double DEFAULT_RTOL = 1e-2;
    static final double DEFAULT_ATOL = 1e-3;

    private final double eps;
    private final double rtol;
    private final double atol;
    private final long seed;

    GradChecker() {
        this(DEFAULT_EPS, DEFAULT_RTOL, DEFAULT_ATOL, 1234L);
    }

    GradChecker(double eps, double rtol, double atol, long seed) {
        this.eps = eps;
        this.rtol = rtol;
        this.atol = atol;
        this.seed = seed;
    }

    GradChecker withEps(double newEps) {
        return new GradChecker(newEps, rtol, atol, seed);
    }

    /** Per-input outcome of one check. */
    static final class Report {
        final String name;
        final float[] analytic;
        final double[] numeric;
        int worstIndex = -1;
        double worstRatio; // |a - n| / (atol + rtol * max(|a|, |n|)); the check passes when this is <= 1
        double maxAbsNumeric;

        Report(String name, float[] analytic, double[] numeric) {
            this.name = name;
            this.analytic = analytic;
            this.numeric = numeric;
        }

        @Override
        public String toString() {
            String worst = worstIndex < 0 ? "none" : "[" + worstIndex + "] analytic " + analytic[worstIndex]
                    + " vs numeric " + numeric[worstIndex];
            return name + ": worst error ratio " + String.format("%.3g", worstRatio) + " at " + worst
                    + ", max |numeric| " + String.format("%.3g", maxAbsNumeric);
        }
    }

    /** Result of a check over several inputs. */
    static final class Result {
        final Report[] reports;
        final double minSignal;

        Result(Report[] reports, double minSignal) {
            this.reports = reports;
            this.minSignal = minSignal;
        }

        boolean passed() {
            for (Report r : reports) {
                if (!(r.worstRatio <= 1.0) || r.maxAbsNumeric < minSignal) return false;
            }
            return true;
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder();
            for (Report r : reports) sb.append(r).append('\n');
            return sb.toString();
        }
    }

    /** A random tensor with entries N(0, 1) * scale, kept away from zero by at least minAbs (for kinks). */
    static float[] randn(Rng rng, int n, double scale, double minAbs) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            double v;
            do {
                v = rng.nextGaussian() * scale;
            } while (Math.abs(v) < minAbs);
            out[i] = (float) v;
        }
        return out;
    }

    static Tensor param(Rng rng, int... shape) {
        return Tensor.parameter(randn(rng, Tensor.sizeOf(shape), 1.0, 0.0), shape);
    }

    /**
     * Throws AssertionError with a per-input report when the check fails; with -Dgradcheck.verbose=true the
     * report is printed for passing checks as well (useful to see the margins).
     */
    Result assertGradients(String what, Supplier<Tensor> forward, Tensor... inputs) {
        Result r = check(forward, inputs);
        if (Boolean.getBoolean("gradcheck.verbose")) System.out.print("[gradcheck] " + what + "\n" + r);
        if (!r.passed()) throw new AssertionError("gradient check failed for " + what + ":\n" + r);
        return r;
    }

    Result check(Supplier<Tensor> forward, Tensor... inputs) {
        return check(forward, null, inputs);
    }

    /**
     * @param corruptAnalytic optional hook that may alter the analytic gradients (input index, grad copy) before
     *                        comparison; used only to prove that the checker rejects wrong gradients
     */
    Result check(Supplier<Tensor> forward, BiConsumer<Integer, float[]> corruptAnalytic,
                 Tensor... inputs) {
        // the projection R, fixed for analytic and numerical passes
        Tensor probe;
        try (var off = GradMode.off()) {
            probe = forward.get();
        }
        Rng rng = new Rng(seed);
        float[] rData = randn(rng, probe.size(), 1.0, 0.0);
        Tensor r = Tensor.of(rData, probe.shape());

        // analytic gradients
        for (Tensor t : inputs) t.zeroGrad();
        Tensor out = forward.get();
        Tensor loss = F.sum(F.mul(out, r));
        loss.backward();
        float[][] analytic = new float[inputs.length][];
        for (int i = 0; i < inputs.length; i++) {
            float[] g = inputs[i].grad();
            analytic[i] = g == null ? new float[inputs[i].size()] : g.clone();
            if (corruptAnalytic != null) corruptAnalytic.accept(i, analytic[i]);
            inputs[i].zeroGrad();
        }

        // numerical gradients by central differences
        Report[] reports = new Report[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            float[] x = inputs[i].data();
            double[] numeric = new double[x.length];
            for (int j = 0; j < x.length; j++) {
                float orig = x[j];
                float up = (float) (orig + eps), down = (float) (orig - eps);
                x[j] = up;
                double lUp = project(forward, rData);
                x[j] = down;
                double lDown = project(forward, rData);
                x[j] = orig;
                numeric[j] = (lUp - lDown) / ((double) up - (double) down);
            }
            reports[i] = compare("input " + i + " " + Arrays.toString(inputs[i].shape()), analytic[i], numeric);
        }
        // any real gradient in these tests is O(0.01) or larger; demand a signal well above the tolerance floor
        return new Result(reports, 10 * atol);
    }

    private Report compare(String name, float[] analytic, double[] numeric) {
        Report rep = new Report(name, analytic, numeric);
        for (int j = 0; j < numeric.length; j++) {
            double a = analytic[j], n = numeric[j];
            double ratio = Math.abs(a - n) / (atol + rtol * Math.max(Math.abs(a), Math.abs(n)));
            if (Double.isNaN(ratio)) ratio = Double.POSITIVE_INFINITY;
            if (rep.worstIndex < 0 || ratio > rep.worstRatio) {
                rep.worstRatio = ratio;
                rep.worstIndex = j;
            }
            rep.maxAbsNumeric = Math.max(rep.maxAbsNumeric, Math.abs(n));
        }
        return rep;
    }

    /** sum(forward() ⊙ R) accumulated in double, without recording a graph. */
    static double project(Supplier<Tensor> forward, float[] r) {
        try (var off = GradMode.off()) {
            float[] y = forward.get().data();
            double s = 0;
            for (int i = 0; i < y.length; i++) s += (double) y[i] * r[i];
            return s;
        }
    }
}
