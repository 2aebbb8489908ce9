package dev.toygpt.kernels;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParallelTest {
    private final int defaultThreads = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(defaultThreads);
    }

    @Test
    void everyIndexRunsExactlyOnceWhateverTheThreadCount() {
        for (int threads : new int[]{1, 2, 3, 5}) {
            Parallel.setThreads(threads);
            for (int n : new int[]{0, 1, 2, 7, 100, 1001}) {
                AtomicIntegerArray hits = new AtomicIntegerArray(n);
                for (int repeat = 0; repeat < 50; repeat++) {
                    Parallel.forRange(n, 1 << 20, (start, end) -> {
                        for (int i = start; i < end; i++) hits.incrementAndGet(i);
                    });
                }
                for (int i = 0; i < n; i++) assertEquals(50, hits.get(i), "threads=" + threads + " n=" + n + " i=" + i);
            }
        }
    }

    @Test
    void theWorkIsSharedBetweenThreads() {
        Parallel.setThreads(2);
        java.util.Set<String> names = java.util.concurrent.ConcurrentHashMap.newKeySet();
        for (int repeat = 0; repeat < 20; repeat++) {
            Parallel.forRange(2, 1 << 20, (start, end) -> {
                names.add(Thread.currentThread().getName());
                sleep(2); // long enough for the other thread to claim the other part
            });
        }
        assertEquals(2, names.size(), "threads that ran parts: " + names);
    }

    @Test
    void theCallerRunsThePartsOfAWorkerThatHasNotWokenYet() {
        Parallel.setThreads(2);
        Thread caller = Thread.currentThread();
        int callerRanBoth = 0;
        for (int repeat = 0; repeat < 10; repeat++) {
            sleep(5); // the worker stops spinning after a millisecond and sleeps: waking it takes far longer than a part
            AtomicIntegerArray byCaller = new AtomicIntegerArray(1);
            Parallel.forRange(2, 1 << 20, (start, end) -> {
                if (Thread.currentThread() == caller) byCaller.incrementAndGet(0);
            });
            if (byCaller.get(0) == 2) callerRanBoth++;
        }
        assertTrue(callerRanBoth > 0, "the caller waited for the sleeping worker in every loop");
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aFailureInAnyPartReachesTheCaller() {
        Parallel.setThreads(3);
        for (int failing = 0; failing < 3; failing++) {
            int bad = failing;
            var e = assertThrows(IllegalStateException.class, () -> Parallel.forRange(3, 1 << 20, (start, end) -> {
                if (start == bad) throw new IllegalStateException("part " + bad);
            }));
            assertEquals("part " + bad, e.getMessage());
            // and the workers still serve the next loop
            AtomicIntegerArray hits = new AtomicIntegerArray(3);
            Parallel.forRange(3, 1 << 20, (start, end) -> {
                for (int i = start; i < end; i++) hits.incrementAndGet(i);
            });
            for (int i = 0; i < 3; i++) assertEquals(1, hits.get(i));
        }
    }

    @Test
    void nestedAndConcurrentLoopsRunSeriallyInsteadOfDeadlocking() throws Exception {
        Parallel.setThreads(2);
        int outer = 4, inner = 64;
        ExecutorService callers = Executors.newFixedThreadPool(3);
        try {
            Future<?>[] futures = new Future<?>[3];
            AtomicIntegerArray[] hits = new AtomicIntegerArray[3];
            for (int c = 0; c < 3; c++) {
                AtomicIntegerArray h = hits[c] = new AtomicIntegerArray(outer * inner);
                futures[c] = callers.submit(() -> {
                    for (int repeat = 0; repeat < 200; repeat++) {
                        Parallel.forRange(outer, 1 << 20, (s0, e0) -> {
                            for (int o = s0; o < e0; o++) {
                                int row = o;
                                Parallel.forRange(inner, 1 << 20, (s1, e1) -> {
                                    for (int i = s1; i < e1; i++) h.incrementAndGet(row * inner + i);
                                });
                            }
                        });
                    }
                });
            }
            for (Future<?> f : futures) f.get(60, TimeUnit.SECONDS);
            for (AtomicIntegerArray h : hits) {
                for (int i = 0; i < outer * inner; i++) assertEquals(200, h.get(i));
            }
        } finally {
            callers.shutdownNow();
        }
    }

    @Test
    void rejectsZeroThreads() {
        var e = assertThrows(IllegalArgumentException.class, () -> Parallel.setThreads(0));
        assertTrue(e.getMessage().contains("threads"));
    }
}
