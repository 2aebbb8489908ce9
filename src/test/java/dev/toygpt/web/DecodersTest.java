package dev.toygpt.web;

import dev.toygpt.inspect.AttentionMaps;
import dev.toygpt.models.Gpt;
import dev.toygpt.models.GptDecoder;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.text.Vocabulary;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The decoders /api/attention keeps per checkpoint: many requests at once each get a decoder of their own
 * (the maps are what a fresh decoder gives, whatever runs beside them), and decoders are reused, not
 * rebuilt (no copy of the weights per keystroke).
 */
class DecodersTest {
    /** A GPT wide enough to take a little while per token, so concurrent passes really overlap. */
    private static Checkpoint.Loaded loaded() {
        LanguageModel m = LanguageModel.create(ModelConfig.gpt(30, 32, 4, 2, 24, 0f), new Rng(5));
        m.train(false);
        return new Checkpoint.Loaded(m, Vocabulary.fromText("abcdefghijklmnopqrstuvwxyz .,\n"), Path.of("unused"));
    }

    private static int[] tokens(int shift, int length) {
        int[] t = new int[length];
        for (int i = 0; i < length; i++) t[i] = (i * 7 + shift * 3) % 30;
        return t;
    }

    private static String flat(AttentionMaps m) {
        return Arrays.deepToString(m.weights());
    }

    @Test
    void concurrentRequestsGetWhatAFreshDecoderGivesAlone() throws Exception {
        Checkpoint.Loaded loaded = loaded();
        Gpt gpt = (Gpt) loaded.model();
        Decoders decoders = new Decoders();
        int threads = 8;
        List<String> alone = new ArrayList<>();
        for (int i = 0; i < threads; i++) alone.add(flat(AttentionMaps.of(gpt, tokens(i, 10 + i))));
        Set<GptDecoder> used = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int round = 0; round < 5; round++) {
                CyclicBarrier together = new CyclicBarrier(threads);
                List<Future<String>> got = new ArrayList<>();
                for (int i = 0; i < threads; i++) {
                    int k = i;
                    got.add(pool.submit(() -> {
                        together.await(); // all eight ask at the same moment
                        return decoders.with(loaded, gpt, d -> {
                            used.add(d);
                            return flat(AttentionMaps.of(d, gpt, tokens(k, 10 + k)));
                        });
                    }));
                }
                for (int i = 0; i < threads; i++) assertEquals(alone.get(i), got.get(i).get(), "round " + round + ", request " + i);
                assertTrue(decoders.idle(loaded) <= Decoders.KEEP, "at most " + Decoders.KEEP + " kept idle");
            }
        } finally {
            pool.shutdownNow();
        }
        // 40 requests, at most 8 at once: decoders were lent again, not made per request
        assertTrue(used.size() < 40, used.size() + " decoders for 40 requests");
    }

    @Test
    void oneAfterAnotherReuseTheSameDecoderAndAFailedPassIsNotLentAgain() {
        Checkpoint.Loaded loaded = loaded();
        Gpt gpt = (Gpt) loaded.model();
        Decoders decoders = new Decoders();
        GptDecoder first = decoders.with(loaded, gpt, d -> d);
        assertSame(first, decoders.with(loaded, gpt, d -> d), "the same decoder again");
        // a pass on a shorter text after a longer one: the decoder starts from an empty cache
        String longer = flat(decoders.with(loaded, gpt, d -> AttentionMaps.of(d, gpt, tokens(1, 24))));
        String shorter = flat(decoders.with(loaded, gpt, d -> AttentionMaps.of(d, gpt, tokens(2, 5))));
        assertEquals(flat(AttentionMaps.of(gpt, tokens(1, 24))), longer);
        assertEquals(flat(AttentionMaps.of(gpt, tokens(2, 5))), shorter);

        assertThrows(IllegalArgumentException.class, () -> decoders.with(loaded, gpt, d -> AttentionMaps.of(d, gpt, tokens(3, 25))));
        assertTrue(decoders.with(loaded, gpt, d -> d) != first, "the decoder of a failed pass was dropped");
        // another checkpoint's model is refused: its decoders would hold the wrong weights
        assertThrows(IllegalArgumentException.class, () -> decoders.with(loaded(), gpt, d -> d));
    }
}
