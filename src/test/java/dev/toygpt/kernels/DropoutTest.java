package dev.toygpt.kernels;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DropoutTest {
    private final int defaultThreads = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(defaultThreads);
    }

    private static float[] mask(int n, float p, long seed) {
        float[] m = new float[n];
        Dropout.mask(m, n, p, seed);
        return m;
    }

    @Test
    void dropsAboutAFractionPAndScalesTheRest() {
        int n = 200_000;
        for (float p : new float[]{0.1f, 0.2f, 0.5f, 0.9f}) {
            float[] m = mask(n, p, 42);
            int dropped = 0;
            for (float v : m) {
                if (v == 0f) dropped++;
                else assertEquals(1f / (1f - p), v, 0f);
            }
            // binomial standard deviation is below 0.0012 here; allow five of them
            assertEquals(p, dropped / (double) n, 0.006, "p=" + p);
        }
        for (float v : mask(1000, 0f, 7)) assertEquals(1f, v, 0f);
    }

    @Test
    void theSameSeedGivesTheSameMaskWhateverTheThreadCount() {
        Parallel.setThreads(1);
        float[] one = mask(100_003, 0.2f, 99);
        Parallel.setThreads(3);
        assertArrayEquals(one, mask(100_003, 0.2f, 99));
        assertFalse(java.util.Arrays.equals(one, mask(100_003, 0.2f, 100)), "another seed, another mask");
    }

    @Test
    void theCausalMaskIsTheWholeMaskWhereQueriesSeeKeysAndZeroElsewhere() {
        int time = 37, rows = 3 * time; // three (batch, head) blocks of 37 queries
        float[] whole = mask(rows * time, 0.3f, 5);
        for (int threads : new int[]{1, 2}) {
            Parallel.setThreads(threads);
            float[] causal = new float[rows * time];
            java.util.Arrays.fill(causal, Float.NaN); // a reused buffer: every element must be written
            Dropout.causalMask(causal, rows, time, 0.3f, 5);
            for (int r = 0; r < rows; r++) {
                for (int s = 0; s < time; s++) {
                    int i = r * time + s;
                    assertEquals(s <= r % time ? whole[i] : 0f, causal[i], 0f, "row " + r + ", key " + s + ", " + threads + " threads");
                }
            }
        }
    }

    @Test
    void neighbouringElementsAndSeedsAreNotCorrelated() {
        // drop decisions of element i and i+1, and of seeds s and s+1, agree as often as independent coins would
        int n = 100_000;
        float[] a = mask(n, 0.5f, 1), b = mask(n, 0.5f, 2);
        int sameNext = 0, sameSeed = 0;
        for (int i = 0; i + 1 < n; i++) {
            if ((a[i] == 0f) == (a[i + 1] == 0f)) sameNext++;
            if ((a[i] == 0f) == (b[i] == 0f)) sameSeed++;
        }
        assertEquals(0.5, sameNext / (double) n, 0.01);
        assertEquals(0.5, sameSeed / (double) n, 0.01);
    }

    @Test
    void applyingTheMaskWithoutStoringItGivesTheSameValuesAsMultiplyingByIt() {
        int n = 50_001; // not a multiple of 4: the last hash is partly used
        java.util.Random r = new java.util.Random(3);
        float[] x = new float[n], d = new float[n], dx0 = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
            d[i] = (float) r.nextGaussian();
            dx0[i] = (float) r.nextGaussian();
        }
        float[] m = mask(n, 0.2f, 11);
        for (int threads : new int[]{1, 3}) {
            Parallel.setThreads(threads);
            float[] y = new float[n], dx = dx0.clone();
            Dropout.apply(x, y, n, 0.2f, 11);
            Dropout.addApplied(d, dx, n, 0.2f, 11);
            for (int i = 0; i < n; i++) {
                assertEquals(x[i] * m[i], y[i], 0f, "element " + i);
                assertEquals(dx0[i] + d[i] * m[i], dx[i], 0f, "element " + i);
            }
        }
    }

    @Test
    void aRowDrawnFromAnyOffsetMatchesTheWholeMask() {
        float[] whole = mask(64, 0.5f, 8);
        for (int first = 0; first < 8; first++) {
            for (int n = 0; first + n <= 64; n += 5) {
                float[] row = new float[n + 2];
                Dropout.maskRow(row, 1, n, 0.5f, 8, first);
                for (int j = 0; j < n; j++) assertEquals(whole[first + j], row[1 + j], 0f, "first " + first + ", j " + j);
                assertEquals(0f, row[0], 0f);
                assertEquals(0f, row[n + 1], 0f);
            }
        }
    }

    /** The documented rule, one element at a time: drop element i when quarter i % 4 of hash i / 4 is below the threshold. */
    private static boolean plainKept(long seed, long i, int threshold) {
        long z = seed + ((i >>> 2) + 1L) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return ((int) (z >>> ((i & 3) << 4)) & 0xFFFF) >= threshold;
    }

    @Test
    void everyPathDrawsTheSameMaskAsThePlainRule() {
        // lengths and offsets that start and end inside a hash and inside a vector, on one and two threads
        java.util.Random r = new java.util.Random(3);
        for (float p : new float[]{0.2f, 0.5f, 0.9f}) {
            int threshold = Dropout.threshold(p);
            float keep = 1f / (1f - p);
            for (int threads : new int[]{1, 2}) {
                Parallel.setThreads(threads);
                int n = 70_001;
                float[] x = new float[n], d = new float[n], dx = new float[n];
                for (int i = 0; i < n; i++) {
                    x[i] = (float) r.nextGaussian();
                    d[i] = (float) r.nextGaussian();
                    dx[i] = i % 7 == 0 ? -0f : (float) r.nextGaussian();
                }
                float[] y = new float[n], m = new float[n], acc = dx.clone();
                Dropout.apply(x, y, n, p, 11);
                Dropout.mask(m, n, p, 11);
                Dropout.addApplied(d, acc, n, p, 11);
                for (int i = 0; i < n; i++) {
                    boolean kept = plainKept(11, i, threshold);
                    assertEquals(Float.floatToRawIntBits(kept ? x[i] * keep : 0f), Float.floatToRawIntBits(y[i]), "apply, i " + i);
                    assertEquals(kept ? keep : 0f, m[i], 0f, "mask, i " + i);
                    // a dropped element leaves dx as it was, -0 included
                    assertEquals(Float.floatToRawIntBits(kept ? dx[i] + d[i] * keep : dx[i]), Float.floatToRawIntBits(acc[i]), "addApplied, i " + i);
                }
            }
            for (int first = 0; first < 9; first++) {
                for (int len : new int[]{0, 1, 3, 15, 16, 17, 33, 100}) {
                    float[] row = new float[len + 3];
                    for (int j = 0; j < row.length; j++) row[j] = j + 1;
                    float[] before = row.clone();
                    Dropout.applyRow(row, 2, len, p, 5, 1000 + first);
                    for (int j = 0; j < row.length; j++) {
                        float want = j < 2 || j >= 2 + len ? before[j] : plainKept(5, 1000 + first + j - 2, threshold) ? before[j] * keep : 0f;
                        assertEquals(want, row[j], 0f, "applyRow, first " + first + ", len " + len + ", j " + j);
                    }
                }
            }
        }
    }

    @Test
    void theDropProbabilityIsPRoundedUpToSixteenBits() {
        assertEquals(13108, Dropout.threshold(0.2f)); // 0.2 * 65536 = 13107.2
        assertEquals(32768, Dropout.threshold(0.5f));
        assertEquals(0, Dropout.threshold(0f));
    }

    @Test
    void rejectsAProbabilityOutsideZeroToOne() {
        var e = assertThrows(IllegalArgumentException.class, () -> mask(10, 1f, 0));
        assertTrue(e.getMessage().contains("[0, 1)"));
    }
}
