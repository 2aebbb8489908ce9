package dev.toygpt.kernels;

/**
 * The machine's attainable matrix-product rate with our own kernel, at the current thread count: the
 * yardstick for model FLOPs utilisation (MFU). A 1024 x 1024 x 1024 product y = x Wᵀ (the product a Linear
 * layer does) is timed several times and the fastest counts, since on a shared machine slower runs are
 * interruptions, not the kernel.
 */
public final class PeakRate {
    private PeakRate() {}

    /**
     * Best GFLOP/s of {@code runs} products of size n^3 after {@code warmup} untimed ones. Where a product
     * takes long (the portable kernels before the JIT has compiled them) it stops after about two seconds.
     */
    public static double gflops(int n, int warmup, int runs) {
        if (n < 1 || runs < 1 || warmup < 0) throw new IllegalArgumentException("need n >= 1, runs >= 1, warmup >= 0");
        float[] x = new float[n * n], w = new float[n * n], y = new float[n * n];
        for (int i = 0; i < x.length; i++) {
            x[i] = ((i * 7919) % 2001 - 1000) / 1000f;
            w[i] = ((i * 104729) % 2003 - 1001) / 1001f;
        }
        long start = System.nanoTime(), budget = 1_000_000_000L;
        for (int i = 0; i < warmup && System.nanoTime() - start < budget; i++) MatMul.linear(x, w, null, y, n, n, n);
        long best = Long.MAX_VALUE;
        start = System.nanoTime();
        for (int i = 0; i < runs && (i == 0 || System.nanoTime() - start < budget); i++) {
            long t0 = System.nanoTime();
            MatMul.linear(x, w, null, y, n, n, n);
            best = Math.min(best, System.nanoTime() - t0);
        }
        return 2.0 * n * n * n / Math.max(best, 1); // FLOPs per nanosecond = GFLOP/s
    }
}
