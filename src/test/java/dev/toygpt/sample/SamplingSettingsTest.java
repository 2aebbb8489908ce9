package dev.toygpt.sample;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class SamplingSettingsTest {

    @Test
    void defaultsArePlainSampling() {
        SamplingSettings s = SamplingSettings.defaults();
        assertEquals(1f, s.temperature());
        assertEquals(0, s.topK());
        assertEquals(1f, s.topP());
        assertFalse(s.greedy());
        assertFalse(s.usesTopK());
        assertFalse(s.usesTopP());
        assertSame(s, s.validate());
    }

    @Test
    void acceptsBoundaryValues() {
        assertDoesNotThrow(() -> new SamplingSettings(1e-3f, 1, 1f, false));
        assertDoesNotThrow(() -> new SamplingSettings(5f, 0, 1e-6f, true));
    }

    @Test
    void temperatureMustBePositiveAndSuggestsGreedy() {
        for (float t : new float[] {0f, -0.5f, -0f, Float.NaN, Float.POSITIVE_INFINITY}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new SamplingSettings(t, 0, 1f, false), "temperature " + t);
            assertTrue(e.getMessage().contains("--temperature"), e.getMessage());
            assertTrue(e.getMessage().contains("> 0"), e.getMessage());
            assertTrue(e.getMessage().contains("--greedy"), e.getMessage());
        }
    }

    @Test
    void topKMustBeAtLeastOneWhenSet() {
        for (int k : new int[] {-1, -100, Integer.MIN_VALUE}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new SamplingSettings(1f, k, 1f, false), "top-k " + k);
            assertTrue(e.getMessage().contains("--top-k must be at least 1"), e.getMessage());
        }
    }

    @Test
    void topPMustBeInUnitInterval() {
        for (float p : new float[] {0f, -0.1f, 1.0001f, 2f, Float.NaN}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new SamplingSettings(1f, 0, p, false), "top-p " + p);
            assertTrue(e.getMessage().contains("--top-p"), e.getMessage());
            assertTrue(e.getMessage().contains("(0, 1]"), e.getMessage());
        }
    }
}
