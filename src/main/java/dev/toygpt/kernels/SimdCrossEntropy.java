package dev.toygpt.kernels;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The exponentials of {@link CrossEntropy}'s rows with the Vector API, giving exactly the floats of
 * {@code (float) Math.exp}: {@link SimdExp#exp} in double, then {@link SimdExp#toFloat}'s test (both ends of
 * the error interval round to the same float) a vector at a time; the rare vector that fails it, or that
 * leaves the normal range, takes the scalar test. Loaded only when the module is present.
 */
final class SimdCrossEntropy {
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** Floats as many as D's lanes, so a vector converts to the other lane for lane. */
    private static final VectorSpecies<Float> F = VectorSpecies.of(float.class, VectorShape.forBitSize(D.length() * Float.SIZE));
    private static final int L = D.length();

    private SimdCrossEntropy() {}

    /** Room for one row's differences or exponentials: n rounded up to whole vectors. */
    static double[] scratch(int n) {
        return new double[(n + L - 1) / L * L];
    }

    /** out[off + j] = (float) Math.exp(x[off + j] - max) for j < n; d and y are {@link #scratch} arrays. */
    static void expRow(float[] x, int off, int n, float max, float[] out, double[] d, double[] y) {
        int vn = n - n % L;
        for (int j = 0; j < vn; j += L) {
            // the float difference, widened, as (float) Math.exp(x - max) takes it
            ((DoubleVector) FloatVector.fromArray(F, x, off + j).sub(max).convertShape(VectorOperators.F2D, D, 0)).intoArray(d, j);
        }
        for (int j = vn; j < d.length; j++) d[j] = j < n ? x[off + j] - max : 0.0;
        SimdExp.exp(d, y, n);
        for (int j = 0; j < vn; j += L) {
            DoubleVector dv = DoubleVector.fromArray(D, d, j), yv = DoubleVector.fromArray(D, y, j);
            DoubleVector slack = yv.mul(SimdExp.DELTA);
            FloatVector lo = (FloatVector) yv.sub(slack).convertShape(VectorOperators.D2F, F, 0);
            FloatVector hi = (FloatVector) yv.add(slack).convertShape(VectorOperators.D2F, F, 0);
            boolean normal = dv.compare(VectorOperators.GE, SimdExp.LOWEST).and(dv.compare(VectorOperators.LE, 88.0)).allTrue();
            if (normal && lo.compare(VectorOperators.EQ, hi).allTrue()) {
                lo.intoArray(out, off + j);
            } else {
                for (int k = j; k < j + L; k++) out[off + k] = SimdExp.toFloat(d[k], y[k]);
            }
        }
        for (int j = vn; j < n; j++) out[off + j] = SimdExp.toFloat(d[j], y[j]);
    }
}
