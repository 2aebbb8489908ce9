package dev.toygpt.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
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
 */
public final class Team implements AutoCloseable {
    /** How long an idle member polls for the next run before it sleeps. */
    private static final long POLL_NANOS = 200_000;
    /** How long a member spins at a barrier before it starts yielding (the others may have lost their processor). */
    private static final long SPIN_NANOS = 50_000;

    private final int size;
    private final Thread[] members;
    private final AtomicInteger arrived = new AtomicInteger();
    private volatile int phase;
    private volatile long runs;
    private volatile IntConsumer body;
    private volatile boolean closed;
    private volatile Throwable failure;
    /** Per member, 1 while it sleeps (or is about to): run() must then wake it. */
    private final AtomicIntegerArray sleeping;

    /** A team of size threads: the caller of {@link #run} and size - 1 new ones. */
    public Team(int size) {
        if (size < 1) throw new IllegalArgumentException("a team needs at least one member, got " + size);
        this.size = size;
        members = new Thread[size];
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
        this.body = body;
        runs++; // a volatile write: publishes body to the members that see it
        for (int rank = 1; rank < size; rank++) {
            if (sleeping.get(rank) == 1) LockSupport.unpark(members[rank]);
        }
        try {
            body.accept(0);
            await();
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
        if (size == 1) return;
        int p = phase;
        if (arrived.incrementAndGet() == size) {
            arrived.set(0);
            phase = p + 1; // releases the others (a volatile write after the reset they will see)
            return;
        }
        long start = System.nanoTime();
        while (phase == p) {
            if (failure != null) throw new TeamFailed(failure);
            if (System.nanoTime() - start < SPIN_NANOS) Thread.onSpinWait();
            else Thread.yield();
        }
    }

    private void serve(int rank) {
        long seen = 0;
        while (!closed) {
            long waitStart = System.nanoTime();
            while (runs == seen && !closed) {
                if (System.nanoTime() - waitStart < POLL_NANOS) {
                    Thread.onSpinWait();
                    continue;
                }
                sleeping.set(rank, 1);
                // checked again after saying so: run() either sees the flag or this sees the new run
                if (runs == seen && !closed) LockSupport.parkNanos(this, 10_000_000L);
                sleeping.set(rank, 0);
            }
            if (closed) return;
            seen = runs;
            try {
                body.accept(rank);
                await();
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
