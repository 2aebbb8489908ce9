package dev.toygpt.benchmarks;

import dev.toygpt.kernels.Attention;
import dev.toygpt.kernels.FlashAttention;
import dev.toygpt.kernels.LayerNorm;
import dev.toygpt.kernels.MatMul;
import dev.toygpt.kernels.Parallel;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;

/**
 * JMH microbenchmarks of the kernels at the shapes the presets use. Run them with
 * {@code ./mvnw -q test-compile exec:exec -Pjmh}; {@link RunBenchmarks} turns the timings into GFLOP/s.
 */
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class KernelBenchmarks {

    /** A matrix product C(M,N) = A(M,K)·B(K,N) in one of the three layouts a Linear layer uses. */
    @State(Scope.Benchmark)
    public static class MatMulState {
        /** M x K x N: seed, baby and lecture Linear layers (B*T rows) and the classic square benchmark. */
        @Param({"512x64x64", "512x64x256", "512x256x64", "768x128x512", "768x512x128", "16384x384x1536", "16384x1536x384", "1024x1024x1024"})
        public String shape;
        @Param({"forward", "input-grad", "weight-grad"})
        public String layout;
        @Param({"2"})
        public int threads;
        int m, k, n;
        float[] a, b, c;

        @Setup(Level.Trial)
        public void setup() {
            String[] s = shape.split("x");
            m = Integer.parseInt(s[0]);
            k = Integer.parseInt(s[1]);
            n = Integer.parseInt(s[2]);
            Random r = new Random(1);
            a = random(m * k, r);
            b = random(k * n, r);
            c = new float[m * n];
            Parallel.setThreads(threads);
        }

        public double flops() {
            return 2.0 * m * k * n;
        }
    }

    @Benchmark
    public float[] matmul(MatMulState s) {
        switch (s.layout) {
            case "forward" -> MatMul.matmulTransB(s.a, s.b, s.c, s.m, s.k, s.n, false);   // y = x Wᵀ, W stored (N, K)
            case "input-grad" -> MatMul.matmul(s.a, s.b, s.c, s.m, s.k, s.n, false);      // dx = dy W
            default -> MatMul.matmulTransA(s.a, s.b, s.c, s.m, s.k, s.n, false);          // dW = dyᵀ x, dy stored (K, M)
        }
        return s.c;
    }

    /** Causal self-attention of one layer, all heads: preset shapes (B, T, C, heads). */
    @State(Scope.Benchmark)
    public static class AttentionState {
        @Param({"16x32x64x4", "12x64x128x4", "64x256x384x6"})
        public String shape;
        int b, t, c, h;
        float[] q, k, v, out, att, stats, dOut, dq, dk, dv;

        @Setup(Level.Trial)
        public void setup() {
            String[] s = shape.split("x");
            b = Integer.parseInt(s[0]);
            t = Integer.parseInt(s[1]);
            c = Integer.parseInt(s[2]);
            h = Integer.parseInt(s[3]);
            Random r = new Random(2);
            q = random(b * t * c, r);
            k = random(b * t * c, r);
            v = random(b * t * c, r);
            dOut = random(b * t * c, r);
            out = new float[b * t * c];
            dq = new float[b * t * c];
            dk = new float[b * t * c];
            dv = new float[b * t * c];
            att = new float[b * h * t * t];
            stats = new float[FlashAttention.statsSize(b, t, h)];
            Parallel.setThreads(2);
        }

        /** q kᵀ and weights·v over the causal half, forward and backward (2x). */
        public double flops() {
            return 3 * 2.0 * b * t * t * c;
        }
    }

    @Benchmark
    public float[] attentionForwardBackward(AttentionState s) {
        Attention.forward(s.q, s.k, s.v, s.out, s.att, null, s.b, s.t, s.c, s.h);
        Attention.backward(s.q, s.k, s.v, s.att, null, s.dOut, s.dq, s.dk, s.dv, s.b, s.t, s.c, s.h);
        return s.dq;
    }

    /** The same with {@link FlashAttention}, which training runs from 128 positions on (no (T, T) weights kept). */
    @Benchmark
    public float[] flashAttentionForwardBackward(AttentionState s) {
        float[] stats = s.stats;
        FlashAttention.forward(s.q, s.k, s.v, s.out, stats, 0f, 0, s.b, s.t, s.c, s.h);
        FlashAttention.backward(s.q, s.k, s.v, stats, 0f, 0, s.dOut, s.dq, s.dk, s.dv, s.b, s.t, s.c, s.h);
        return s.dq;
    }

    /** LayerNorm over (rows, C), forward and backward. */
    @State(Scope.Benchmark)
    public static class LayerNormState {
        @Param({"512x64", "768x128", "16384x384"})
        public String shape;
        int rows, n;
        float[] x, w, bias, y, mean, rstd, dy, dx, dw, db;

        @Setup(Level.Trial)
        public void setup() {
            String[] s = shape.split("x");
            rows = Integer.parseInt(s[0]);
            n = Integer.parseInt(s[1]);
            Random r = new Random(3);
            x = random(rows * n, r);
            dy = random(rows * n, r);
            w = random(n, r);
            bias = random(n, r);
            y = new float[rows * n];
            dx = new float[rows * n];
            dw = new float[n];
            db = new float[n];
            mean = new float[rows];
            rstd = new float[rows];
            Parallel.setThreads(2);
        }

        /** About 8 flops per element forward and 12 backward. */
        public double flops() {
            return 20.0 * rows * n;
        }
    }

    @Benchmark
    public float[] layerNormForwardBackward(LayerNormState s) {
        LayerNorm.forward(s.x, s.w, s.bias, s.y, s.mean, s.rstd, s.rows, s.n, 1e-5f);
        LayerNorm.backward(s.x, s.w, s.mean, s.rstd, s.dy, s.dx, s.dw, s.db, s.rows, s.n);
        return s.dx;
    }

    static float[] random(int n, Random r) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) r.nextGaussian();
        return out;
    }
}
