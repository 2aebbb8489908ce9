package dev.toygpt.web;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/** At most a few generations at once (the rest are told to come back), and how many are running now. */
final class Generations {
    private final Semaphore slots;
    private final AtomicInteger active = new AtomicInteger();

    Generations(int max) {
        slots = new Semaphore(max);
    }

    /** A slot, or null when all are taken. Close it when the generation ends, however it ends. */
    Slot tryAcquire() {
        if (!slots.tryAcquire()) return null;
        active.incrementAndGet();
        return new Slot();
    }

    int active() {
        return active.get();
    }

    final class Slot implements AutoCloseable {
        private boolean closed;

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            active.decrementAndGet();
            slots.release();
        }
    }
}
