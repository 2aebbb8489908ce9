package dev.toygpt.kernels;

/**
 * Where a float array's cache lines begin. An AVX-512 vector is 64 bytes, a cache line's size: read from a
 * line's start it is one line, read from anywhere else two. A stream of weights read that way ran 1.3-1.5x
 * slower from the first-level cache and 1.1-1.3x from the second (microbenchmark, this project's machine).
 *
 * <p>Java does not say where an array lies, but the JVM starts every object on a multiple of
 * -XX:ObjectAlignmentInBytes (8 by default; the toygpt launcher sets 64), and a float[]'s elements start a
 * fixed header after it. So with objects on line boundaries, the same element of every float[] is on one:
 * {@link #firstAlignedFloat()}. A packed weight that starts there has every row of its chunks on a line.
 * Anywhere else it only runs slower, never wrong.
 */
public final class CacheLines {
    static final int BYTES = 64;

    private CacheLines() {}

    /**
     * The index of the first element of any float[] that starts a cache line, or 0 when the JVM does not
     * place objects on line boundaries (or its object layout is not the usual one).
     */
    public static int firstAlignedFloat() {
        return Holder.FIRST;
    }

    private static final class Holder { // looked up on first use: the JVM's management beans take ~50 ms to start
        static final int FIRST = first();
    }

    private static int first() {
        try {
            var vm = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            if (Integer.parseInt(vm.getVMOption("ObjectAlignmentInBytes").getValue()) % BYTES != 0) return 0;
            if (!Boolean.parseBoolean(vm.getVMOption("UseCompressedClassPointers").getValue())) return 0;
            if (flag(vm, "UseCompactObjectHeaders")) return 0;
            int header = 16; // mark word, compressed class pointer, length
            return (BYTES - header) / Float.BYTES;
        } catch (RuntimeException | LinkageError e) {
            return 0; // not HotSpot, or no management module: unaligned, as before
        }
    }

    private static boolean flag(com.sun.management.HotSpotDiagnosticMXBean vm, String name) {
        try {
            return Boolean.parseBoolean(vm.getVMOption(name).getValue());
        } catch (IllegalArgumentException e) {
            return false; // a JVM without the option (JDK 17 has no compact headers)
        }
    }
}
