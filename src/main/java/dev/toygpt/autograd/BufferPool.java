package dev.toygpt.autograd;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Reuses the arrays of one training step in the next. Without it, every step allocates its activations
 * and gradients anew (gigabytes for the lecture-sized model) and the garbage collector, to keep up, grows
 * the heap well past what the step really holds at once.
 *
 * <p>While a thread holds a {@link #lend()} scope, the operations in {@link F} take their result and
 * gradient arrays from here, and {@link Tensor#backward()} gives each one back as soon as the backward
 * pass is done with it. So arrays are reused within the backward pass and by the next step's forward pass.
 * Only an array's owner, the tensor the operation made it for, gives it back: a tensor that shares its
 * input's array (a reshape) never does. Arrays still out when the scope closes are simply forgotten.
 *
 * <p>The intermediate tensors of a step must not be read after its backward pass (their arrays are
 * reused); the loss itself stays readable.
 */
public final class BufferPool {
    private static final ThreadLocal<BufferPool> ACTIVE = new ThreadLocal<>();
    /** Smaller arrays cost less to allocate than to keep track of. */
    private static final int MIN_POOLED = 256;

    private final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();
    /** Arrays lent out in the current scope, each with its owner (null until a tensor claims it). */
    private final IdentityHashMap<float[], Tensor> lent = new IdentityHashMap<>();
    private long created;

    /** Lends this pool's arrays to the current thread's operations until the scope is closed. */
    public Scope lend() {
        if (ACTIVE.get() != null) throw new IllegalStateException("a buffer pool is already lending on this thread");
        ACTIVE.set(this);
        return () -> {
            ACTIVE.remove();
            lent.clear();
        };
    }

    /** How many arrays this pool has had to create; constant once steps repeat. */
    public long arraysCreated() {
        return created;
    }

    /** Floats in the arrays lent out and not given back yet: what the step holds from this pool right now. */
    long floatsLent() {
        long n = 0;
        for (float[] a : lent.keySet()) n += a.length;
        return n;
    }

    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    /** True while a pool lends to this thread: a training step, whose gradients nobody keeps past the next step. */
    static boolean isLending() {
        return ACTIVE.get() != null;
    }

    /** An array of n floats with unspecified contents: the caller writes every element. */
    static float[] floats(int n) {
        BufferPool pool = ACTIVE.get();
        return pool == null || n < MIN_POOLED ? new float[n] : pool.take(n);
    }

    /** An array of n zeros. */
    static float[] zeros(int n) {
        BufferPool pool = ACTIVE.get();
        if (pool == null || n < MIN_POOLED) return new float[n];
        float[] a = pool.take(n);
        java.util.Arrays.fill(a, 0f);
        return a;
    }

    /** Records that result owns its data array, if that array was lent and nobody claimed it yet. */
    static void claim(float[] data, Tensor result) {
        BufferPool pool = ACTIVE.get();
        if (pool != null && pool.lent.containsKey(data) && pool.lent.get(data) == null) pool.lent.put(data, result);
    }

    /** Takes back an array owned by owner (its data); does nothing for arrays this pool did not lend to it. */
    static void giveBack(float[] a, Tensor owner) {
        BufferPool pool = ACTIVE.get();
        if (pool != null && a != null && pool.lent.containsKey(a) && pool.lent.get(a) == owner) pool.keep(a);
    }

    /** Records that a lent scratch array (a gradient) now belongs to owner as its gradient. */
    static void handOver(float[] grad, Tensor owner) {
        BufferPool pool = ACTIVE.get();
        if (pool != null && pool.lent.containsKey(grad)) pool.lent.put(grad, owner);
    }

    /** Takes back tensor t's gradient array once its backward function has run, unless another tensor adopted it. */
    static void giveBackGrad(float[] grad, Tensor t) {
        BufferPool pool = ACTIVE.get();
        if (pool == null || grad == null || !pool.lent.containsKey(grad)) return;
        Tensor owner = pool.lent.get(grad);
        if (owner == null || owner == t) pool.keep(grad);
    }

    /** Takes back a scratch array that no tensor owns (a gradient, saved attention weights, a dropout mask). */
    static void giveBack(float[] a) {
        giveBack(a, null);
    }

    private float[] take(int n) {
        ArrayDeque<float[]> q = free.get(n);
        float[] a = q == null ? null : q.poll();
        if (a == null) {
            a = new float[n];
            created++;
        }
        lent.put(a, null);
        return a;
    }

    private void keep(float[] a) {
        lent.remove(a);
        free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).push(a);
    }
}
