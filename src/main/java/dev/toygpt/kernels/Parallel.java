package dev.toygpt.kernels;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/**
 * Splits a loop over rows between worker threads. Each output element is always computed by one thread
 * in the same order, so results do not depend on the thread count.
 */
public final class Parallel {
    private static volatile ForkJoinPool pool = newPool(Runtime.getRuntime().availableProcessors());
    /** Below this many floating-point operations a loop runs on the calling thread. */
    private static final long MIN_WORK_PER_TASK = 1 << 18;

    private Parallel() {}

    public interface RangeBody {
        void run(int start, int end);
    }

    public static synchronized void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (threads == pool.getParallelism()) return;
        ForkJoinPool old = pool;
        pool = newPool(threads);
        old.shutdown();
    }

    public static int threads() {
        return pool.getParallelism();
    }

    /** Runs body over [0, n) in contiguous chunks; workPerItem (flops per item) decides whether splitting pays. */
    public static void forRange(int n, long workPerItem, RangeBody body) {
        int threads = pool.getParallelism();
        long total = (long) n * Math.max(1, workPerItem);
        if (threads == 1 || n < 2 || total < MIN_WORK_PER_TASK) {
            body.run(0, n);
            return;
        }
        int chunks = (int) Math.min(n, Math.min(threads * 2L, total / MIN_WORK_PER_TASK));
        if (chunks < 2) {
            body.run(0, n);
            return;
        }
        pool.invoke(new Chunk(body, n, chunks, 0, chunks));
    }

    private static final class Chunk extends RecursiveAction {
        private final RangeBody body;
        private final int n, chunks, from, to;

        Chunk(RangeBody body, int n, int chunks, int from, int to) {
            this.body = body;
            this.n = n;
            this.chunks = chunks;
            this.from = from;
            this.to = to;
        }

        @Override
        protected void compute() {
            if (to - from == 1) {
                int start = (int) ((long) n * from / chunks);
                int end = (int) ((long) n * to / chunks);
                body.run(start, end);
                return;
            }
            int mid = (from + to) >>> 1;
            invokeAll(new Chunk(body, n, chunks, from, mid), new Chunk(body, n, chunks, mid, to));
        }
    }

    private static ForkJoinPool newPool(int threads) {
        return new ForkJoinPool(threads, p -> {
            var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            t.setDaemon(true);
            t.setName("toygpt-kernel-" + t.getPoolIndex());
            return t;
        }, null, false);
    }
}
