package dev.toygpt.util;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

/**
 * How long the JIT compiler has worked so far. A run reaches its steady speed only once the JIT has compiled
 * its loops, which on two processors takes seconds after the first steps: while this figure still grows, the
 * JIT is busy (and competes with the run for the processors).
 */
public final class JitClock {
    private static final CompilationMXBean JIT = jit();

    private JitClock() {}

    /** Milliseconds the JIT's compiler threads have spent compiling since the JVM started, or -1 if the JVM does not say. */
    public static long compiledMs() {
        return JIT == null ? -1 : JIT.getTotalCompilationTime();
    }

    private static CompilationMXBean jit() {
        var jit = ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit : null;
    }
}
