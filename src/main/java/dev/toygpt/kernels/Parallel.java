package dev.toygpt.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Splits a loop over rows between the calling thread and worker threads. Each output element is always
 * computed by one thread in the same order, so results do not depend on the thread count.
 *
 * <p>A training step of a small GPT is hundreds of loops of a few microseconds each, shorter than the time
 * an operating system takes to wake a sleeping thread. So the workers spin, waiting for the next loop,
 * for a while after each one ({@link #SPIN_NANOS}) and only then sleep: during training they answer at
 * once, and an idle program stops using the cores within a millisecond.
 */
public final class Parallel {
    private static volatile Workers workers = new Workers(Runtime.getRuntime().availableProcessors());
    /** Below this many floating-point operations per thread a loop runs on the calling thread alone. */
    private static final long MIN_WORK_PER_THREAD = 1 << 15;
    /**
     * A loop with enough work is cut into up to this many parts per thread, each of at least
     * {@link #MIN_WORK_PER_EXTRA_PART} flops: a thread that finishes early (the other started late, or shares
     * its core with another program) takes the parts that are left instead of waiting. -Dtoygpt.partsPerThread
     * overrides, for measuring.
     */
    private static final int PARTS_PER_THREAD = Integer.getInteger("toygpt.partsPerThread", 4);
    private static final long MIN_WORK_PER_EXTRA_PART = 1 << 17;
    /** How long an idle worker keeps polling for work before it sleeps. */
    private static final long SPIN_NANOS = 1_000_000;

    private Parallel() {}

    public interface RangeBody {
        void run(int start, int end);
    }

    public static synchronized void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (threads == workers.threads()) return;
        Workers old = workers;
        workers = new Workers(threads);
        old.shutdown();
    }

    public static int threads() {
        return workers.threads();
    }

    /** Runs body over [0, n) in contiguous chunks; workPerItem (flops per item) decides whether splitting pays. */
    public static void forRange(int n, long workPerItem, RangeBody body) {
        Workers w = workers;
        long total = (long) n * Math.max(1, workPerItem);
        int parts = (int) Math.min(Math.min(w.threads(), n), total / MIN_WORK_PER_THREAD);
        if (parts >= 2) {
            parts = (int) Math.max(parts, Math.min(Math.min((long) w.threads() * PARTS_PER_THREAD, n), total / MIN_WORK_PER_EXTRA_PART));
        }
        if (parts < 2 || !w.tryRun(n, parts, body)) body.run(0, n);
    }

    /**
     * The calling thread plus threads - 1 workers. One loop at a time: a nested or concurrent loop runs serially.
     *
     * <p>A loop's parts are not bound to threads: each thread, the caller included, claims the next part
     * not yet taken until none is left (see {@link Job} for the order). On a busy machine a worker may not get a core for milliseconds; the
     * caller then runs that worker's parts itself instead of waiting for it (hundreds of such waits per
     * training step made two threads a hundred times slower than one). A part covers the same rows whichever
     * thread runs it, so results still do not depend on the thread count.
     */
    private static final class Workers {
        private final Worker[] pool;
        private final ReentrantLock running = new ReentrantLock();
        /** The loop being run, read by workers when woken; a worker that wakes late finds its parts all taken. */
        private volatile Job job;

        Workers(int threads) {
            pool = new Worker[threads - 1];
            for (int i = 0; i < pool.length; i++) {
                pool[i] = new Worker(this, i + 1);
                pool[i].start();
            }
        }

        int threads() {
            return pool.length + 1;
        }

        boolean tryRun(int n, int parts, RangeBody body) {
            if (Thread.currentThread() instanceof Worker || running.isHeldByCurrentThread() || !running.tryLock()) return false;
            try {
                Job j = new Job(body, n, parts, threads());
                job = j;
                for (int i = 1; i < Math.min(parts, threads()); i++) pool[i - 1].wake();
                j.runParts(0);
                for (int spins = 1; j.unfinished.get() != 0; spins++) pause(spins);
                Throwable f = j.failure;
                if (f instanceof RuntimeException e) throw e;
                if (f instanceof Error e) throw e;
                if (f != null) throw new RuntimeException(f);
                return true;
            } finally {
                job = null;
                running.unlock();
            }
        }

        void shutdown() {
            for (Worker w : pool) w.stop = true;
            for (Worker w : pool) LockSupport.unpark(w);
        }
    }

    /**
     * One loop: part p covers rows [n p / parts, n (p + 1) / parts), run by whichever thread claims it. The parts
     * are dealt in one run of consecutive parts per thread (its home run: the caller's first, worker i's i-th),
     * each claimed front to back; a thread whose run is done then claims the parts left in the others'. So when
     * all threads keep pace, each runs the same rows as in the loop before, whose results are then still in its
     * own core's cache (a step's loops mostly go over the same rows: batch rows, (batch, head) pairs).
     */
    private static final class Job {
        /** Ints between two runs' counters: each on its own cache line. */
        private static final int PAD = 16;
        private final RangeBody body;
        private final int n, parts, runs;
        /** Per run r, at r * PAD: the next part of the run to claim, counted from the run's first. */
        private final AtomicIntegerArray next;
        private final AtomicInteger unfinished;
        private volatile Throwable failure;

        Job(RangeBody body, int n, int parts, int threads) {
            this.body = body;
            this.n = n;
            this.parts = parts;
            this.runs = Math.min(parts, threads);
            this.next = new AtomicIntegerArray(runs * PAD);
            this.unfinished = new AtomicInteger(parts);
        }

        /**
         * Claims and runs parts until none is left, those of run home first. The parts run are counted off
         * unfinished once, at the end: the count is the one line that every thread writes.
         */
        void runParts(int home) {
            int done = 0;
            for (int i = 0; i < runs; i++) {
                int r = (home + i) % runs, first = parts * r / runs, size = parts * (r + 1) / runs - first;
                for (int k; (k = next.getAndIncrement(r * PAD)) < size; done++) {
                    int part = first + k;
                    try {
                        body.run((int) ((long) n * part / parts), (int) ((long) n * (part + 1) / parts));
                    } catch (Throwable t) {
                        failure = t;
                    }
                }
            }
            if (done > 0) unfinished.addAndGet(-done);
        }
    }

    /**
     * One turn of a busy wait. Now and then it lets another thread run: with more threads than cores, the
     * thread being waited for may be waiting for this core.
     */
    private static void pause(int spins) {
        if ((spins & 63) == 0) Thread.yield();
        else Thread.onSpinWait();
    }

    private static final class Worker extends Thread {
        private final Workers owner;
        private final int part;
        private volatile int ticket;
        private volatile boolean sleeping;
        private volatile boolean stop;

        Worker(Workers owner, int part) {
            super("toygpt-kernel-" + part);
            this.owner = owner;
            this.part = part;
            setDaemon(true);
        }

        /** Called by the loop's thread: one more part to run. */
        void wake() {
            ticket++; // only the thread holding owner.running writes it
            if (sleeping) LockSupport.unpark(this);
        }

        @Override
        public void run() {
            int seen = 0;
            while (!stop) {
                long idleSince = System.nanoTime();
                for (int spins = 1; ticket == seen && !stop; spins++) {
                    if (System.nanoTime() - idleSince < SPIN_NANOS) {
                        pause(spins);
                    } else {
                        sleeping = true;
                        if (ticket == seen && !stop) LockSupport.park(this);
                        sleeping = false;
                    }
                }
                if (stop) return;
                seen = ticket;
                Job job = owner.job;
                if (job != null) job.runParts(part);
            }
        }
    }
}
