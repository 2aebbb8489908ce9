package dev.toygpt.autograd;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;

/**
 * A float32 tensor: a flat row-major {@code float[]} plus a shape, and, when it takes part in a gradient
 * computation, the operation that made it. {@link #backward()} walks those operations in reverse
 * (reverse-mode automatic differentiation) and accumulates {@code d loss / d this} into {@link #grad()}.
 *
 * <p>The number crunching lives in {@code dev.toygpt.kernels}; this class only does the bookkeeping.
 */
public final class Tensor {
    private final float[] data;
    private final int[] shape;
    private final boolean requiresGrad;
    private float[] grad;
    /** A parameter's gradient array from before zeroGrad(), reused by the next training step's backward pass. */
    private float[] spareGrad;

    // How this tensor was computed: inputs and a function that pushes this.grad into their grads.
    private Tensor[] inputs;
    private Backward backwardFn;

    /** Given d loss / d result, adds d loss / d input into each input's gradient. */
    @FunctionalInterface
    interface Backward {
        void accumulate(float[] resultGrad);
    }

    private Tensor(float[] data, int[] shape, boolean requiresGrad) {
        if (data.length != sizeOf(shape)) {
            throw new IllegalArgumentException("data length " + data.length + " does not match shape " + Arrays.toString(shape));
        }
        this.data = data;
        this.shape = shape.clone();
        this.requiresGrad = requiresGrad;
    }

    /** A constant: no gradient is tracked for it. */
    public static Tensor of(float[] data, int... shape) {
        return new Tensor(data, shape, false);
    }

    public static Tensor zeros(int... shape) {
        return new Tensor(new float[sizeOf(shape)], shape, false);
    }

    /** A trainable leaf (a model parameter): its gradient is accumulated by backward(). */
    public static Tensor parameter(float[] data, int... shape) {
        return new Tensor(data, shape, true);
    }

    /** The result of an operation; records its inputs and backward function when gradients are on. */
    static Tensor result(float[] data, int[] shape, Tensor[] inputs, Backward backwardFn) {
        boolean needsGrad = false;
        if (GradMode.isEnabled()) {
            for (Tensor t : inputs) needsGrad |= t != null && t.requiresGrad;
        }
        Tensor out = new Tensor(data, shape, needsGrad);
        if (needsGrad) {
            out.inputs = inputs;
            out.backwardFn = backwardFn;
            BufferPool.claim(data, out);
        }
        return out;
    }

    public float[] data() {
        return data;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public int rank() {
        return shape.length;
    }

    public int size() {
        return data.length;
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** The accumulated gradient, or null if no gradient reached this tensor. */
    public float[] grad() {
        return grad;
    }

    /** The gradient array, created as zeros on first use; operations accumulate into it. */
    float[] gradForUpdate() {
        if (grad == null) {
            if (backwardFn != null) {
                grad = BufferPool.zeros(data.length);
            } else if (spareGrad != null && BufferPool.isLending()) {
                grad = spareGrad;
                spareGrad = null;
                Arrays.fill(grad, 0f);
            } else {
                grad = new float[data.length];
            }
        }
        return grad;
    }

    /** True once some operation has sent a gradient to this tensor in the current backward pass. */
    boolean hasGrad() {
        return grad != null;
    }

    /**
     * The gradient array for an operation that will write the whole of d loss / d this, when no gradient has
     * arrived yet ({@link #hasGrad()} is false): it comes without being zeroed, so the caller must set every
     * element. Writing the first gradient instead of adding it to zeros saves a pass over the array.
     */
    float[] gradForOverwrite() {
        if (grad != null) throw new IllegalStateException("this tensor already has a gradient to add to");
        if (backwardFn != null) {
            grad = BufferPool.floats(data.length);
        } else if (spareGrad != null && BufferPool.isLending()) {
            grad = spareGrad;
            spareGrad = null;
        } else {
            grad = new float[data.length];
        }
        return grad;
    }

    /**
     * Takes g, the gradient array of a result whose backward function is running, as this tensor's gradient
     * when none has arrived yet and this is an intermediate result: no copy, no zero-fill (an addition, a
     * reshape, the loss). Returns false, and takes nothing, otherwise; the caller then adds g itself. The
     * caller must not write g afterwards: it belongs to this tensor now.
     */
    boolean adoptGrad(float[] g) {
        if (grad != null || backwardFn == null || g.length != data.length) return false;
        grad = g;
        BufferPool.handOver(g, this);
        return true;
    }

    public void zeroGrad() {
        if (grad != null && backwardFn == null) spareGrad = grad;
        grad = null;
    }

    public float item() {
        if (data.length != 1) throw new IllegalStateException("item() needs a single value, shape is " + Arrays.toString(shape));
        return data[0];
    }

    /**
     * Back-propagates from this scalar: sets d this / d this = 1 and runs every recorded operation's
     * backward function in reverse topological order. Each intermediate result lets go of its gradient and
     * of what its operation saved as soon as its backward function has run, so memory shrinks as the pass
     * goes (the lecture-sized model would not fit otherwise).
     */
    public void backward() {
        if (data.length != 1) throw new IllegalStateException("backward() starts from a scalar loss, shape is " + Arrays.toString(shape));
        if (!requiresGrad) throw new IllegalStateException("this tensor does not depend on any parameter");
        List<Tensor> order = topologicalOrder();
        gradForUpdate()[0] += 1f;
        for (int i = order.size() - 1; i >= 0; i--) {
            Tensor t = order.get(i);
            order.set(i, null);
            if (t.backwardFn == null) continue; // a leaf: its gradient is the result
            if (t.grad != null) t.backwardFn.accumulate(t.grad);
            // nothing after t in this pass reads t's gradient or result: a buffer pool may reuse them (a
            // gradient that an input adopted is that input's now, and comes back after its backward function)
            BufferPool.giveBackGrad(t.grad, t);
            if (t != this) BufferPool.giveBack(t.data, t);
            t.backwardFn = null;
            t.inputs = null;
            t.grad = null;
        }
    }

    private List<Tensor> topologicalOrder() {
        List<Tensor> order = new ArrayList<>();
        IdentityHashMap<Tensor, Boolean> visited = new IdentityHashMap<>();
        ArrayDeque<Tensor> stack = new ArrayDeque<>();
        ArrayDeque<Integer> next = new ArrayDeque<>(); // index of the next input to visit, per stack entry
        stack.push(this);
        next.push(0);
        visited.put(this, true);
        while (!stack.isEmpty()) {
            Tensor t = stack.peek();
            int i = next.pop();
            Tensor[] in = t.inputs == null ? new Tensor[0] : t.inputs;
            if (i < in.length) {
                next.push(i + 1);
                Tensor child = in[i];
                if (child != null && child.requiresGrad && visited.put(child, true) == null) {
                    stack.push(child);
                    next.push(0);
                }
            } else {
                stack.pop();
                order.add(t); // all inputs come before t
            }
        }
        return order;
    }

    static int sizeOf(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n *= d;
        }
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor too large: " + Arrays.toString(shape));
        return (int) n;
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + (requiresGrad ? " (grad)" : "");
    }
}
