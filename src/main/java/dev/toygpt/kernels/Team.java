package dev.toygpt.kernels;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A fixed group of threads that run one body together, each with its own rank, and meet at barriers inside
 * it. Generation uses it: a token's pass has about five steps per layer that each need the whole of the
 * previous one, each step only a few microseconds long, which is too short for {@link Parallel}'s loops
 * (whose parts may run one after another on one thread, so they cannot wait for each other).
 *
 * <p>The caller is member 0; the others are daemon threads owned by the team. Between runs they poll for a
 * while (a token comes every few microseconds) and then sleep; {@link #close()} ends them.
 *
 * <p>Member 1 also takes jobs that the caller {@link #post}s and does not wait for: work that a token must
 * have done before some later token, not before its own result. They run in the order posted, between runs;
 * the caller waits for them with {@link #drain}, and a {@link #run} first waits for them. One thread for both,
 * so that a caller switching between the two ways never has a third thread competing for two processors.
 */
public final class Team implements AutoCloseable {
    /** How long an idle member polls for the next run before it sleeps. */
    private static final long POLL_NANOS = 200_000;
    /** How long a member spins at a barrier before it starts yielding (the others may have lost their processor). */
    private static final long SPIN_NANOS = 50_000;

    /** Longs between two members' barrier counts: 128 bytes, so that each count has its cache lines to itself. */
    private static final int PAD = 16;

    private final int size;
    private final Thread[] members;
    /**
     * Per member (at rank * PAD), how many barriers it has reached. Each member writes only its own count and
     * reads the others': a barrier costs one handover of a cache line from the last member to arrive to each
     * waiting one. A shared counter that the last member then reset and followed with a release flag cost two
     * handovers in a row, about 450 ns on this project's two-processor virtual machine, 16 of them a token.
     */
    private final AtomicLongArray reached;
    private volatile long runs;
    private volatile IntConsumer body;
    private volatile boolean closed;
    private volatile Throwable failure;
    /** Per member, 1 while it sleeps (or is about to): run() must then wake it. */
    private final AtomicIntegerArray sleeping;

    /** A job for member 1: arg is the long it was posted with. */
    @FunctionalInterface
    public interface Job {
        void run(long arg);
    }

    /** Jobs that may wait at once; post waits for room beyond. */
    private static final int JOBS = 64;
    /** The job of the posts since the last change (few callers ever post another). */
    private Job job;
    /**
     * Job n's arg at n % JOBS and, at JOBS + n % JOBS, n + 1 once posted: member 1 waits on the slot itself, so
     * that a post hands over one cache line (two made a token's pass wait for the second's handover).
     */
    private final AtomicLongArray posts = new AtomicLongArray(2 * JOBS);
    /** How many jobs were posted (written by the caller only, read by it only) and how many member 1 has run (by it only). */
    private long posted;
    private final AtomicLongArray done = new AtomicLongArray(PAD);

    /** A team of size threads: the caller of {@link #run} and size - 1 new ones. */
    public Team(int size) {
        if (size < 1) throw new IllegalArgumentException("a team needs at least one member, got " + size);
        this.size = size;
        members = new Thread[size];
        reached = new AtomicLongArray(size * PAD);
        sleeping = new AtomicIntegerArray(size);
        for (int rank = 1; rank < size; rank++) {
            int r = rank;
            members[rank] = new Thread(() -> serve(r), "toygpt-team-" + rank);
            members[rank].setDaemon(true);
            members[rank].start();
        }
    }

    public int size() {
        return size;
    }

    /** False once closed, by {@link #close()} or by a member's failure. */
    public boolean isOpen() {
        return !closed;
    }

    /** Member rank's thread (rank >= 1), for tests. */
    Thread member(int rank) {
        return members[rank];
    }

    /**
     * Runs body(rank) on every member at once, rank 0 on the calling thread, and returns when all have
     * finished. A member's exception is thrown here (wrapped if checked), and the team is then closed.
     */
    public void run(IntConsumer body) {
        if (closed) throw new IllegalStateException("the team is closed");
        if (size == 1) {
            body.accept(0);
            return;
        }
        drain(); // the jobs posted before run before the body, which may read what they wrote
        this.body = body;
        runs++; // a volatile write: publishes body to the members that see it
        for (int rank = 1; rank < size; rank++) {
            if (sleeping.get(rank) == 1) LockSupport.unpark(members[rank]);
        }
        try {
            body.accept(0);
            await(0);
        } catch (RuntimeException | Error e) {
            fail(e);
        }
        Throwable f = failure;
        if (f != null) {
            close();
            if (f instanceof RuntimeException e) throw e;
            if (f instanceof Error e) throw e;
            throw new IllegalStateException(f);
        }
    }

    /**
     * Waits until every member has called await as often as this one: what each wrote before is then seen by
     * all. Only from inside a body that every member runs through the same awaits.
     */
    public void await() {
        await(rank());
    }

    /** {@link #await()} for a member that knows its rank (finding it costs a look through the members). */
    public void await(int rank) {
        if (size == 1) return;
        long n = reached.get(rank * PAD) + 1;
        reached.set(rank * PAD, n); // a volatile write: what this member wrote before is seen by whoever reads n
        for (int r = 0; r < size; r++) {
            if (r == rank || reached.get(r * PAD) >= n) continue;
            long start = System.nanoTime();
            while (reached.get(r * PAD) < n) {
                if (failure != null) throw new TeamFailed(failure);
                if (System.nanoTime() - start < SPIN_NANOS) Thread.onSpinWait();
                else Thread.yield();
            }
        }
    }

    /** The calling member's rank: 0 for the caller of {@link #run}, which owns no thread of the team. */
    private int rank() {
        Thread self = Thread.currentThread();
        for (int rank = 1; rank < size; rank++) {
            if (members[rank] == self) return rank;
        }
        return 0;
    }

    /**
     * Queues job(arg) for member 1, behind the jobs posted before, and returns at once (unless {@link #JOBS}
     * are waiting). A job's exception is thrown by the next post or drain, and the team is then closed.
     */
    public void post(Job job, long arg) {
        if (size == 1) throw new IllegalStateException("a team of one has no member to post to");
        long n = posted;
        if (n - done.get(0) == JOBS) waitForJobs(n - JOBS + 1);
        throwFailure();
        if (closed) throw new IllegalStateException("the team is closed");
        if (job != this.job) {
            waitForJobs(n); // the jobs before run with the job they were posted with
            this.job = job;
        }
        int slot = (int) (n % JOBS);
        posts.lazySet(slot, arg);
        posts.set(JOBS + slot, n + 1); // a volatile write: publishes the job and its arg to member 1
        posted = n + 1;
        if (sleeping.get(1) == 1) LockSupport.unpark(members[1]);
    }

    /** Waits until member 1 has run every job posted so far; rethrows a job's exception. */
    public void drain() {
        if (size == 1) return;
        waitForJobs(posted);
        throwFailure();
    }

    private void waitForJobs(long n) {
        long start = System.nanoTime();
        while (done.get(0) < n && failure == null && !closed) {
            if (System.nanoTime() - start < SPIN_NANOS) Thread.onSpinWait();
            else Thread.yield();
        }
    }

    private void throwFailure() {
        Throwable f = failure;
        if (f == null) return;
        close();
        if (f instanceof RuntimeException e) throw e;
        if (f instanceof Error e) throw e;
        throw new IllegalStateException(f);
    }

    /** Whether job n (counting from 0) has been posted. */
    private boolean isPosted(long n) {
        return posts.get(JOBS + (int) (n % JOBS)) == n + 1;
    }

    /** Member 1 runs the jobs posted so far, counting from ran; returns the new count. */
    private long runJobs(long ran) {
        for (; isPosted(ran) && !closed; ran++) {
            try {
                job.run(posts.get((int) (ran % JOBS)));
            } catch (RuntimeException | Error e) {
                fail(e);
            }
            done.set(0, ran + 1); // a volatile write: what the job wrote is seen by whoever reads the count
        }
        return ran;
    }

    private void serve(int rank) {
        long seen = 0, ran = 0;
        while (!closed) {
            if (rank == 1) ran = runJobs(ran);
            long waitStart = System.nanoTime();
            while (runs == seen && !closed && (rank != 1 || !isPosted(ran))) {
                if (System.nanoTime() - waitStart < POLL_NANOS) {
                    Thread.onSpinWait();
                    continue;
                }
                sleeping.set(rank, 1);
                // checked again after saying so: run() either sees the flag or this sees the new run
                if (runs == seen && !closed && (rank != 1 || !isPosted(ran))) LockSupport.parkNanos(this, 10_000_000L);
                sleeping.set(rank, 0);
            }
            if (closed) return;
            if (runs == seen) continue; // a job came
            seen = runs;
            try {
                body.accept(rank);
                await(rank);
            } catch (RuntimeException | Error e) {
                fail(e);
            }
        }
    }

    private synchronized void fail(Throwable t) {
        if (failure == null && !(t instanceof TeamFailed)) failure = t;
    }

    /** Thrown at a barrier when another member failed: the first failure is the one reported. */
    private static final class TeamFailed extends RuntimeException {
        TeamFailed(Throwable cause) {
            super("another member of the team failed", cause);
        }
    }

    /** Ends the members' threads; the team cannot run again. */
    @Override
    public void close() {
        closed = true;
        for (int rank = 1; rank < size; rank++) LockSupport.unpark(members[rank]);
    }
}
