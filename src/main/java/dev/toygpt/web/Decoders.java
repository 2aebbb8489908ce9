package dev.toygpt.web;

import dev.toygpt.models.Gpt;
import dev.toygpt.models.GptDecoder;
import dev.toygpt.train.Checkpoint;

import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;

/**
 * Key/value-cache decoders kept per loaded model, so /api/attention does not copy (transpose) every weight
 * for each keystroke. A decoder holds the state of one pass (its cache and scratch buffers), so each is lent
 * to one request at a time: a request borrows one (or makes one when all are out), and gives it back when
 * it is done. Pools are held weakly by the loaded checkpoint (the decoders refer to its model, never to it):
 * a checkpoint dropped from the model cache takes its decoders with it.
 */
final class Decoders {
    /** Decoders kept per model when idle; more may exist while many requests run at once. */
    static final int KEEP = 4;

    private final Map<Checkpoint.Loaded, ConcurrentLinkedQueue<GptDecoder>> idle = new WeakHashMap<>();

    /** Runs work with a decoder of the checkpoint's model (gpt) that no other thread uses meanwhile. */
    <T> T with(Checkpoint.Loaded loaded, Gpt gpt, Function<GptDecoder, T> work) {
        if (loaded.model() != gpt) throw new IllegalArgumentException("gpt is not the checkpoint's model");
        ConcurrentLinkedQueue<GptDecoder> queue;
        synchronized (idle) {
            queue = idle.computeIfAbsent(loaded, g -> new ConcurrentLinkedQueue<>());
        }
        GptDecoder decoder = queue.poll();
        if (decoder == null) decoder = new GptDecoder(gpt);
        T result = work.apply(decoder);
        // given back only after a pass that ended normally; a failed one may have left it half-way
        synchronized (queue) { // the check and the offer together, or eight returns at once could all see room
            if (queue.size() < KEEP) queue.offer(decoder);
        }
        return result;
    }

    /** Decoders idle for a checkpoint now (for tests). */
    int idle(Checkpoint.Loaded loaded) {
        synchronized (idle) {
            ConcurrentLinkedQueue<GptDecoder> q = idle.get(loaded);
            return q == null ? 0 : q.size();
        }
    }
}
