package dev.toygpt.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class CacheLinesTest {
    @Test
    void theFirstAlignedFloatIsOnALineWhenObjectsAre() throws Exception {
        var vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        int alignment = Integer.parseInt(vm.getVMOption("ObjectAlignmentInBytes").getValue());
        int first = CacheLines.firstAlignedFloat();
        if (alignment % 64 != 0) {
            assertEquals(0, first, "objects are not on cache lines in this JVM: nothing to align to");
            return;
        }
        // where a float[]'s elements start after the object's own start, as the JVM itself reports it
        var field = Class.forName("sun.misc.Unsafe").getDeclaredField("theUnsafe");
        field.setAccessible(true);
        Object unsafe = field.get(null);
        int base = (Integer) unsafe.getClass().getMethod("arrayBaseOffset", Class.class).invoke(unsafe, float[].class);
        assertEquals(0, (base + Float.BYTES * first) % 64, "element " + first + " of a float[] starts a cache line");
        assertEquals(true, first > 0 && first < 16, "the first such element, not a later one: " + first);
    }
}
