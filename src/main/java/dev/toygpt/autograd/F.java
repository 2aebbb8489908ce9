package dev.toygpt.autograd;

import dev.toygpt.kernels.Activations;
import dev.toygpt.kernels.Attention;
import dev.toygpt.kernels.CrossEntropy;
import dev.toygpt.kernels.Dropout;
import dev.toygpt.kernels.Elementwise;
import dev.toygpt.kernels.FlashAttention;
import dev.toygpt.kernels.LayerNorm;
import dev.toygpt.kernels.MatMul;
import dev.toygpt.kernels.Softmax;
import dev.toygpt.util.Rng;

import java.util.Arrays;

/**
 * The differentiable operations, named like {@code torch.nn.functional}. Each one computes its result with
 * a kernel and records how to send the gradient back to its inputs.
 */
public final class F {
    private F() {}

    /** Rows of weight(V, C) picked by ids: result shape is leadingShape + [C]. */
    public static Tensor embedding(Tensor weight, int[] ids, int... leadingShape) {
        int vocab = weight.dim(0), c = weight.dim(1);
        if (Tensor.sizeOf(leadingShape) != ids.length) {
            throw new IllegalArgumentException(ids.length + " ids do not fill shape " + Arrays.toString(leadingShape));
        }
        float[] w = weight.data();
        float[] out = BufferPool.floats(ids.length * c);
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (id < 0 || id >= vocab) throw new IndexOutOfBoundsException("token id " + id + " outside vocabulary of " + vocab);
            System.arraycopy(w, id * c, out, i * c, c);
        }
        Tensor[] in = {weight};
        return Tensor.result(out, append(leadingShape, c), in, dOut -> Elementwise.addRowsAt(dOut, ids, weight.gradForUpdate(), c));
    }

    /** One-hot rows: (N, numClasses), a constant. */
    public static Tensor oneHot(int[] ids, int numClasses) {
        float[] out = new float[ids.length * numClasses];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= numClasses) throw new IndexOutOfBoundsException("class " + ids[i] + " outside [0, " + numClasses + ")");
            out[i * numClasses + ids[i]] = 1f;
        }
        return Tensor.of(out, ids.length, numClasses);
    }

    /** y = x Wᵀ + b with a PyTorch-layout weight (out, in); x is (..., in), bias may be null. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        float[] y = linearValues(x, weight, bias, false);
        int rows = x.size() / weight.dim(1);
        return Tensor.result(y, linearShape(x, weight), new Tensor[]{x, weight, bias}, dy -> {
            if (bias != null && bias.requiresGrad()) {
                boolean add = bias.hasGrad();
                Elementwise.columnSums(dy, rows, weight.dim(0), gradOf(bias, add), add);
            }
            linearBackward(x, weight, dy, rows, weight.dim(1), weight.dim(0));
        });
    }

    /**
     * relu(x Wᵀ + b) in one operation. The values before the ReLU are not kept: where the output is positive
     * the gradient passes, elsewhere it stops, so the output alone is enough for the backward pass.
     */
    public static Tensor linearRelu(Tensor x, Tensor weight, Tensor bias) {
        float[] y = linearValues(x, weight, bias, true); // the product applies the ReLU to each tile as it ends
        int rows = x.size() / weight.dim(1);
        return Tensor.result(y, linearShape(x, weight), new Tensor[]{x, weight, bias}, dy -> {
            // dy is this result's own gradient, read by nobody after this: ReLU's backward pass overwrites it
            // (y > 0 exactly where the input was), and the bias's gradient is summed in the same pass
            boolean biasGrad = bias != null && bias.requiresGrad(), add = biasGrad && bias.hasGrad();
            Activations.reluBackwardInPlace(y, dy, rows, weight.dim(0), biasGrad ? gradOf(bias, add) : null, add);
            linearBackward(x, weight, dy, rows, weight.dim(1), weight.dim(0));
        });
    }

    private static float[] linearValues(Tensor x, Tensor weight, Tensor bias, boolean relu) {
        int in = weight.dim(1), outF = weight.dim(0);
        if (x.dim(-1) != in) {
            throw new IllegalArgumentException("linear: input has " + x.dim(-1) + " features, weight expects " + in);
        }
        int rows = x.size() / in;
        float[] y = BufferPool.floats(rows * outF);
        float[] b = bias == null ? null : bias.data();
        if (relu) MatMul.linearRelu(x.data(), weight.data(), b, y, rows, in, outF);
        else MatMul.linear(x.data(), weight.data(), b, y, rows, in, outF);
        return y;
    }

    private static int[] linearShape(Tensor x, Tensor weight) {
        int[] shape = x.shape();
        shape[shape.length - 1] = weight.dim(0);
        return shape;
    }

    /** dx (+)= dy W and dW (+)= dyᵀ x; the bias's gradient is the caller's. */
    private static void linearBackward(Tensor x, Tensor weight, float[] dy, int rows, int in, int outF) {
        if (x.requiresGrad()) {
            boolean add = x.hasGrad();
            MatMul.matmul(dy, weight.data(), gradOf(x, add), rows, outF, in, add);
        }
        if (weight.requiresGrad()) {
            boolean add = weight.hasGrad();
            MatMul.matmulTransA(dy, x.data(), gradOf(weight, add), outF, rows, in, add);
        }
    }

    /**
     * t's gradient for an operation that computes all of d loss / d t: the array to add into when a gradient
     * has already arrived (add), else a fresh array that the operation writes whole (no zero-fill first).
     */
    private static float[] gradOf(Tensor t, boolean add) {
        return add ? t.gradForUpdate() : t.gradForOverwrite();
    }

    /** Sends d, a result's gradient, unchanged to t (of the same size): t adopts the array if it can. */
    private static void passGrad(Tensor t, float[] d) {
        if (!t.adoptGrad(d)) addGrad(t, d);
    }

    /** Adds d into t's gradient, or copies it there when t has none yet. */
    private static void addGrad(Tensor t, float[] d) {
        if (t.hasGrad()) Elementwise.addInto(d, t.gradForUpdate());
        else System.arraycopy(d, 0, t.gradForOverwrite(), 0, d.length);
    }

    /** Matrix product of a(M, K) and b(K, N). */
    public static Tensor matmul(Tensor a, Tensor b) {
        if (a.rank() != 2 || b.rank() != 2 || a.dim(1) != b.dim(0)) {
            throw new IllegalArgumentException("matmul: shapes " + Arrays.toString(a.shape()) + " and " + Arrays.toString(b.shape()) + " do not fit");
        }
        int m = a.dim(0), k = a.dim(1), n = b.dim(1);
        float[] c = BufferPool.floats(m * n);
        MatMul.matmul(a.data(), b.data(), c, m, k, n, false);
        Tensor[] ins = {a, b};
        return Tensor.result(c, new int[]{m, n}, ins, dc -> {
            if (a.requiresGrad()) MatMul.matmulTransB(dc, b.data(), a.gradForUpdate(), m, n, k, true);
            if (b.requiresGrad()) MatMul.matmulTransA(a.data(), dc, b.gradForUpdate(), k, m, n, true);
        });
    }

    /** a + b, where b's shape equals a's or is a suffix of it (b is then repeated over a's leading dimensions). */
    public static Tensor add(Tensor a, Tensor b) {
        int[] as = a.shape(), bs = b.shape();
        boolean suffix = bs.length <= as.length
                && Arrays.equals(bs, Arrays.copyOfRange(as, as.length - bs.length, as.length));
        if (!suffix) {
            throw new IllegalArgumentException("add: shape " + Arrays.toString(bs) + " does not broadcast to " + Arrays.toString(as));
        }
        float[] out = BufferPool.floats(a.size());
        Elementwise.addRepeated(a.data(), b.data(), out);
        int n = b.size(), rows = a.size() / Math.max(1, n);
        Tensor[] ins = {a, b};
        return Tensor.result(out, as, ins, d -> {
            // d goes to a unchanged: a takes the array itself when it has no gradient yet (the residual
            // stream's usual case), so most additions cost no pass at all backward
            boolean taken = false;
            if (a.requiresGrad()) {
                taken = a.adoptGrad(d);
                if (!taken) addGrad(a, d);
            }
            if (b.requiresGrad()) {
                if (n == d.length) {
                    if (taken) addGrad(b, d); // a copy: d is a's now
                    else passGrad(b, d);
                } else {
                    boolean add = b.hasGrad();
                    Elementwise.columnSums(d, rows, n, gradOf(b, add), add);
                }
            }
        });
    }

    /** Element-wise product of two tensors of the same shape. */
    public static Tensor mul(Tensor a, Tensor b) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException("mul: shapes " + Arrays.toString(a.shape()) + " and " + Arrays.toString(b.shape()) + " differ");
        }
        float[] x = a.data(), y = b.data();
        float[] out = BufferPool.floats(x.length);
        for (int i = 0; i < x.length; i++) out[i] = x[i] * y[i];
        Tensor[] ins = {a, b};
        return Tensor.result(out, a.shape(), ins, d -> {
            if (a.requiresGrad()) {
                float[] da = a.gradForUpdate();
                for (int i = 0; i < d.length; i++) da[i] += d[i] * y[i];
            }
            if (b.requiresGrad()) {
                float[] db = b.gradForUpdate();
                for (int i = 0; i < d.length; i++) db[i] += d[i] * x[i];
            }
        });
    }

    /** Sum of all elements, a scalar. */
    public static Tensor sum(Tensor a) {
        float s = 0f;
        for (float v : a.data()) s += v;
        Tensor[] ins = {a};
        return Tensor.result(new float[]{s}, new int[]{1}, ins, dOut -> {
            float d = dOut[0];
            float[] da = a.gradForUpdate();
            for (int i = 0; i < da.length; i++) da[i] += d;
        });
    }

    public static Tensor relu(Tensor x) {
        return leakyRelu(x, 0f);
    }

    /** max(x, slope * x); PyTorch's LeakyReLU default slope is 0.01. */
    public static Tensor leakyRelu(Tensor x, float slope) {
        float[] y = BufferPool.floats(x.size());
        Activations.leakyRelu(x.data(), y, slope);
        Tensor[] ins = {x};
        return Tensor.result(y, x.shape(), ins, dOut ->
                Activations.leakyReluBackward(x.data(), dOut, x.gradForUpdate(), slope));
    }

    /** LayerNorm over the last dimension with a learned weight and bias. */
    public static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, float eps) {
        int n = x.dim(-1);
        if (weight.size() != n || bias.size() != n) {
            throw new IllegalArgumentException("layerNorm: " + n + " features but weight/bias of " + weight.size() + "/" + bias.size());
        }
        int rows = x.size() / n;
        float[] y = BufferPool.floats(x.size());
        float[] mean = BufferPool.floats(rows), rstd = BufferPool.floats(rows);
        LayerNorm.forward(x.data(), weight.data(), bias.data(), y, mean, rstd, rows, n, eps);
        Tensor[] ins = {x, weight, bias};
        return Tensor.result(y, x.shape(), ins, dOut -> {
            LayerNorm.backward(x.data(), weight.data(), mean, rstd, dOut,
                    x.requiresGrad() ? x.gradForUpdate() : null,
                    weight.requiresGrad() ? weight.gradForUpdate() : null,
                    bias.requiresGrad() ? bias.gradForUpdate() : null, rows, n);
            BufferPool.giveBack(mean);
            BufferPool.giveBack(rstd);
        });
    }

    /** Zeroes each element with probability p and scales the rest by 1/(1-p); identity when p == 0. */
    public static Tensor dropout(Tensor x, float p, Rng rng) {
        if (p == 0f) return x;
        long maskSeed = rng.nextLong(); // the mask is drawn again in backward instead of being kept
        float[] in = x.data();
        float[] y = BufferPool.floats(in.length);
        Dropout.apply(in, y, in.length, p, maskSeed); // the mask drawn on the spot, never stored
        Tensor[] ins = {x};
        return Tensor.result(y, x.shape(), ins, d -> Dropout.addApplied(d, x.gradForUpdate(), d.length, p, maskSeed));
    }

    /**
     * Causal multi-head self-attention of (B, T, C) queries, keys and values whose heads sit side by side in
     * the last dimension; returns the heads' outputs concatenated, (B, T, C). Attention weights are
     * softmax(mask(q kᵀ / sqrt(head_size))), with dropout p on the weights (0 for none).
     *
     * <p>Sequences of at least {@link #FLASH_FROM_TIME} positions use {@link FlashAttention}, which keeps no
     * (B, H, T, T) weights or masks for backward; shorter ones the plain kernel {@link Attention}, whose weights
     * are small there. Both give the same values (within float rounding) and draw the same dropout.
     */
    public static Tensor causalSelfAttention(Tensor q, Tensor k, Tensor v, int heads, float dropout, Rng rng) {
        return causalSelfAttention(q, k, v, heads, dropout, rng, q.dim(1) >= FLASH_FROM_TIME);
    }

    /**
     * Sequence length from which attention runs {@link FlashAttention}: at 256 (lecture) AttentionBenchmark shows
     * it 7% faster than the plain kernel and 700 MB lighter; at 32 and 64 (seed, baby) it showed no clear gain.
     */
    static final int FLASH_FROM_TIME = 128;

    /** {@link #causalSelfAttention} with the kernel chosen by the caller (tests compare the two). */
    static Tensor causalSelfAttention(Tensor q, Tensor k, Tensor v, int heads, float dropout, Rng rng, boolean flash) {
        int b = q.dim(0), t = q.dim(1), c = q.dim(2);
        if (!Arrays.equals(q.shape(), k.shape()) || !Arrays.equals(q.shape(), v.shape())) {
            throw new IllegalArgumentException("attention: q, k, v shapes differ");
        }
        if (c % heads != 0) throw new IllegalArgumentException("attention: " + c + " channels not divisible by " + heads + " heads");
        float[] out = BufferPool.floats(q.size());
        boolean backwardFollows = GradMode.isEnabled() && (q.requiresGrad() || k.requiresGrad() || v.requiresGrad());
        if (!backwardFollows && dropout == 0f) { // nothing needs the (B, H, T, T) weights after this
            if (flash) FlashAttention.forward(q.data(), k.data(), v.data(), out, null, 0f, 0, b, t, c, heads);
            else Attention.forward(q.data(), k.data(), v.data(), out, null, null, b, t, c, heads);
            return Tensor.of(out, q.shape());
        }
        long maskSeed = dropout == 0f ? 0 : rng.nextLong(); // the dropout mask is drawn again in backward, not kept
        Tensor[] ins = {q, k, v};
        if (flash) {
            float[] stats = BufferPool.floats(FlashAttention.statsSize(b, t, heads));
            FlashAttention.forward(q.data(), k.data(), v.data(), out, stats, dropout, maskSeed, b, t, c, heads);
            return Tensor.result(out, q.shape(), ins, dOut -> {
                FlashAttention.backward(q.data(), k.data(), v.data(), stats, dropout, maskSeed, dOut,
                        q.requiresGrad() ? q.gradForUpdate() : null,
                        k.requiresGrad() ? k.gradForUpdate() : null,
                        v.requiresGrad() ? v.gradForUpdate() : null, b, t, c, heads);
                BufferPool.giveBack(stats);
            });
        }
        float[] att = BufferPool.floats(b * heads * t * t);
        float[] mask = dropout == 0f ? null : causalDropoutMask(b * heads * t, t, dropout, maskSeed);
        Attention.forward(q.data(), k.data(), v.data(), out, att, mask, b, t, c, heads);
        BufferPool.giveBack(mask);
        return Tensor.result(out, q.shape(), ins, dOut -> {
            float[] again = dropout == 0f ? null : causalDropoutMask(b * heads * t, t, dropout, maskSeed);
            // q, k and v usually get their first gradient here (each is a Linear's output): then the kernel
            // writes it whole, zeroing each head's columns on the thread that computes them
            boolean add = q.hasGrad() || k.hasGrad() || v.hasGrad();
            Attention.backward(q.data(), k.data(), v.data(), att, again, dOut,
                    q.requiresGrad() ? gradOf(q, add) : null,
                    k.requiresGrad() ? gradOf(k, add) : null,
                    v.requiresGrad() ? gradOf(v, add) : null, !add, b, t, c, heads);
            BufferPool.giveBack(att);
            BufferPool.giveBack(again);
        });
    }

    /** Softmax over the last dimension. */
    public static Tensor softmax(Tensor x) {
        int n = x.dim(-1), rows = x.size() / n;
        float[] y = BufferPool.floats(x.size());
        Softmax.forward(x.data(), y, rows, n);
        Tensor[] ins = {x};
        return Tensor.result(y, x.shape(), ins, dOut -> Softmax.backward(y, dOut, x.gradForUpdate(), rows, n));
    }

    /** Joins tensors along the last dimension; all other dimensions must match. */
    public static Tensor concat(Tensor... parts) {
        int[] shape = parts[0].shape();
        int rows = parts[0].size() / parts[0].dim(-1);
        int total = 0;
        for (Tensor p : parts) {
            int[] s = p.shape();
            if (s.length != shape.length || p.size() / p.dim(-1) != rows
                    || !Arrays.equals(Arrays.copyOf(s, s.length - 1), Arrays.copyOf(shape, shape.length - 1))) {
                throw new IllegalArgumentException("concat: shape " + Arrays.toString(s) + " does not fit " + Arrays.toString(shape));
            }
            total += p.dim(-1);
        }
        float[] out = BufferPool.floats(rows * total);
        int col = 0;
        for (Tensor p : parts) {
            int w = p.dim(-1);
            for (int r = 0; r < rows; r++) System.arraycopy(p.data(), r * w, out, r * total + col, w);
            col += w;
        }
        shape[shape.length - 1] = total;
        int width = total;
        Tensor[] ins = parts.clone();
        return Tensor.result(out, shape, ins, d -> {
            int c0 = 0;
            for (Tensor p : ins) {
                int w = p.dim(-1);
                if (p.requiresGrad()) {
                    float[] dp = p.gradForUpdate();
                    for (int r = 0; r < rows; r++) {
                        for (int j = 0; j < w; j++) dp[r * w + j] += d[r * width + c0 + j];
                    }
                }
                c0 += w;
            }
        });
    }

    /** Same data, another shape with the same number of elements. */
    public static Tensor reshape(Tensor x, int... shape) {
        if (Tensor.sizeOf(shape) != x.size()) {
            throw new IllegalArgumentException("reshape: " + Arrays.toString(x.shape()) + " has " + x.size() + " elements, not " + Arrays.toString(shape));
        }
        Tensor[] ins = {x};
        return Tensor.result(x.data(), shape, ins, d -> passGrad(x, d));
    }

    /** Mean cross-entropy of logits (..., V) against integer targets, one per row. */
    public static Tensor crossEntropy(Tensor logits, int[] targets) {
        int n = logits.dim(-1), rows = logits.size() / n;
        if (targets.length != rows) {
            throw new IllegalArgumentException("crossEntropy: " + rows + " rows of logits but " + targets.length + " targets");
        }
        for (int t : targets) {
            if (t < 0 || t >= n) throw new IndexOutOfBoundsException("target " + t + " outside [0, " + n + ")");
        }
        float[] out = BufferPool.floats(logits.size());
        if (!(GradMode.isEnabled() && logits.requiresGrad())) { // no backward pass: the probabilities are not kept
            float loss = CrossEntropy.forward(logits.data(), targets, out, rows, n);
            BufferPool.giveBack(out);
            return Tensor.of(new float[]{loss}, 1);
        }
        // the backward pass's work is done here, in the pass that computes the loss: d loss / d logits
        float loss = CrossEntropy.forwardAndGradient(logits.data(), targets, out, rows, n);
        Tensor[] ins = {logits};
        return Tensor.result(new float[]{loss}, new int[]{1}, ins, dOut -> {
            if (dOut[0] != 1f) CrossEntropy.scale(out, dOut[0]); // the loss is scaled or summed further on
            if (!logits.adoptGrad(out)) {
                addGrad(logits, out);
                BufferPool.giveBack(out);
            }
        });
    }

    /** A dropout mask of (rows, time) attention weights, drawn only where the causal mask lets weights through. */
    private static float[] causalDropoutMask(int rows, int time, float p, long seed) {
        float[] mask = BufferPool.floats(rows * time);
        Dropout.causalMask(mask, rows, time, p, seed);
        return mask;
    }

    private static int[] append(int[] shape, int last) {
        int[] s = Arrays.copyOf(shape, shape.length + 1);
        s[shape.length] = last;
        return s;
    }
}
