package dev.toygpt.testing;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs a reader on a fuzzed input and checks the three things that must never happen: a hang (each call has
 * a time limit), an exception other than the documented one (OutOfMemoryError and StackOverflowError
 * included), and memory out of proportion to the input (a header that claims terabytes must not make the
 * reader allocate them: the bytes a call allocates are bounded by a multiple of the input's size).
 */
public final class Fuzz {
    private Fuzz() {}

    /** Seconds one call may take: parsing a few kilobytes takes microseconds; the margin is for a loaded machine. */
    private static final int TIMEOUT_SECONDS = 20;

    private static final ExecutorService WORKER = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "fuzz-worker");
        t.setDaemon(true);
        return t;
    });

    /** Calls per property (class.method), or inputs in the long pass's loops, for the progress file of long runs. */
    private static final java.util.Map<String, java.util.concurrent.atomic.LongAdder> COUNTS = new java.util.concurrent.ConcurrentSkipListMap<>();

    static {
        // -Dfuzz.progress=FILE: every 30 s, how many inputs each property has tried (a long run may not finish)
        String progress = System.getProperty("fuzz.progress");
        if (progress != null && !progress.isBlank()) {
            Thread t = new Thread(() -> {
                while (true) {
                    try {
                        Thread.sleep(30_000);
                        StringBuilder sb = new StringBuilder(java.time.Instant.now() + "\n");
                        COUNTS.forEach((k, v) -> sb.append(k).append(' ').append(v.sum()).append('\n'));
                        java.nio.file.Files.writeString(java.nio.file.Path.of(progress), sb);
                    } catch (InterruptedException | java.io.IOException e) {
                        return;
                    }
                }
            }, "fuzz-progress");
            t.setDaemon(true);
            t.start();
        }
    }

    /** The property the current thread feeds, when a long pass names it (no stack walk per input then). */
    private static final ThreadLocal<String> PROPERTY = new ThreadLocal<>();

    private static void count() {
        if (PROPERTY.get() != null) return; // the long pass counts inputs, not calls
        String property = StackWalker.getInstance().walk(frames -> frames
                .filter(f -> f.getClassName().endsWith("FuzzTest") && !f.getMethodName().startsWith("lambda$"))
                .map(f -> f.getClassName().substring(f.getClassName().lastIndexOf('.') + 1) + "." + f.getMethodName())
                .reduce((first, second) -> second).orElse("?"));
        COUNTS.computeIfAbsent(property, k -> new java.util.concurrent.atomic.LongAdder()).increment();
    }

    /** Inputs per property in the long pass (-Pfuzz-long sets fuzz.long); 0 outside it. */
    public static final long LONG_PASS = Long.getLong("fuzz.long", 0);

    /**
     * The long pass of one property: {@code inputs} values drawn from the same generator the property uses,
     * fed to the same check, without jqwik's per-try lifecycle (which costs more than most readers). A
     * failure names the input (its first bytes in hex) instead of shrinking it.
     */
    public static <T> void loop(String property, net.jqwik.api.Arbitrary<T> inputs, long count, ThrowingConsumer<T> check) {
        PROPERTY.set(property);
        try {
            java.util.Iterator<T> values = inputs.sampleStream().iterator();
            var done = COUNTS.computeIfAbsent(property + " (inputs)", k -> new java.util.concurrent.atomic.LongAdder());
            for (long i = 0; i < count; i++) {
                T value = values.next();
                done.increment();
                try {
                    check.accept(value);
                } catch (Throwable e) {
                    throw new AssertionError(property + ", input " + i + " (" + describe(value) + "): " + e.getMessage(), e);
                }
            }
        } finally {
            PROPERTY.remove();
        }
    }

    /** A check that may throw what a test throws. */
    @FunctionalInterface
    public interface ThrowingConsumer<T> {
        void accept(T value) throws Exception;
    }

    private static String describe(Object value) {
        byte[] bytes = value instanceof byte[] b ? b : value instanceof String str ? str.getBytes(java.nio.charset.StandardCharsets.UTF_8) : null;
        if (bytes == null) return String.valueOf(value);
        StringBuilder hex = new StringBuilder(bytes.length + " bytes: ");
        for (int i = 0; i < Math.min(bytes.length, 512); i++) hex.append(String.format("%02x", bytes[i]));
        return hex.append(bytes.length > 512 ? "..." : "").toString();
    }

    /**
     * A temporary folder for the files the properties rewrite for every input: in memory (/dev/shm) where the
     * machine has it, since a disk's journal makes each rewrite cost more than the reader under test.
     */
    public static java.nio.file.Path scratchDirectory(String prefix) throws java.io.IOException {
        java.nio.file.Path shm = java.nio.file.Path.of("/dev/shm");
        return java.nio.file.Files.isDirectory(shm) && java.nio.file.Files.isWritable(shm)
                ? java.nio.file.Files.createTempDirectory(shm, prefix) : java.nio.file.Files.createTempDirectory(prefix);
    }

    /** What a call gave: its value, or the documented exception it threw. */
    public record Outcome<T>(T value, RuntimeException error) {
        public boolean ok() {
            return error == null;
        }
    }

    /**
     * Calls reader; allows only the documented exception types; at most allowedBytes allocated.
     *
     * @throws AssertionError naming the input's size when any rule is broken
     */
    @SafeVarargs
    public static <T> Outcome<T> call(String what, long allowedBytes, Callable<T> reader, Class<? extends RuntimeException>... documented) {
        count();
        Future<Object[]> f = WORKER.submit(() -> {
            com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            long before = mx.getCurrentThreadAllocatedBytes();
            Object value = null;
            Throwable error = null;
            try {
                value = reader.call();
            } catch (Throwable e) {
                error = e;
            }
            return new Object[]{value, error, mx.getCurrentThreadAllocatedBytes() - before};
        });
        Object[] r;
        try {
            r = f.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new AssertionError(what + ": no answer after " + TIMEOUT_SECONDS + " s (a hang)");
        } catch (InterruptedException | ExecutionException e) {
            throw new AssertionError(what + ": " + e, e);
        }
        long allocated = (long) r[2];
        if (allocated > allowedBytes) {
            throw new AssertionError(what + ": allocated " + allocated + " bytes, more than the " + allowedBytes + " its input justifies");
        }
        Throwable error = (Throwable) r[1];
        if (error == null) {
            @SuppressWarnings("unchecked") T value = (T) r[0];
            return new Outcome<>(value, null);
        }
        if (Arrays.stream(documented).anyMatch(c -> c.isInstance(error)) && error.getMessage() != null && !error.getMessage().isBlank()) {
            return new Outcome<>(null, (RuntimeException) error);
        }
        throw new AssertionError(what + ": undocumented " + error, error);
    }
}
