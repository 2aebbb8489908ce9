package dev.toygpt.kernels;

/**
 * Matrix products on flat row-major {@code float[]} arrays. The three layouts are the three products a
 * Linear layer needs: forward {@code y = x Wᵀ}, input gradient {@code dx = dy W}, weight gradient
 * {@code dW = dyᵀ x}. Inner loops run along contiguous rows ("axpy" form) so the JIT can vectorise them.
 */
public final class MatMul {
    private MatMul() {}

    /** C(M,N) = A(M,K) · B(K,N), or C += ... when accumulate. */
    public static void matmul(float[] a, float[] b, float[] c, int m, int k, int n, boolean accumulate) {
        Parallel.forRange(m, 2L * k * n, (start, end) -> {
            for (int i = start; i < end; i++) {
                int cRow = i * n;
                if (!accumulate) java.util.Arrays.fill(c, cRow, cRow + n, 0f);
                int aRow = i * k;
                for (int p = 0; p < k; p++) {
                    float aip = a[aRow + p];
                    if (aip == 0f) continue; // one-hot inputs and ReLU outputs are mostly zero
                    int bRow = p * n;
                    for (int j = 0; j < n; j++) {
                        c[cRow + j] += aip * b[bRow + j];
                    }
                }
            }
        });
    }

    /** C(M,N) = A(M,K) · B(N,K)ᵀ, or C += ... when accumulate. This is y = x Wᵀ for a PyTorch-layout weight. */
    public static void matmulTransB(float[] a, float[] b, float[] c, int m, int k, int n, boolean accumulate) {
        float[] bt = new float[k * n];
        transpose(b, bt, n, k);
        matmul(a, bt, c, m, k, n, accumulate);
    }

    /** C(M,N) = A(K,M)ᵀ · B(K,N), or C += ... when accumulate. This is dW = dyᵀ x. */
    public static void matmulTransA(float[] a, float[] b, float[] c, int m, int k, int n, boolean accumulate) {
        Parallel.forRange(m, 2L * k * n, (start, end) -> {
            for (int i = start; i < end; i++) {
                int cRow = i * n;
                if (!accumulate) java.util.Arrays.fill(c, cRow, cRow + n, 0f);
                for (int p = 0; p < k; p++) {
                    float api = a[p * m + i];
                    if (api == 0f) continue;
                    int bRow = p * n;
                    for (int j = 0; j < n; j++) {
                        c[cRow + j] += api * b[bRow + j];
                    }
                }
            }
        });
    }

    /** dst(cols, rows) = src(rows, cols)ᵀ. */
    public static void transpose(float[] src, float[] dst, int rows, int cols) {
        for (int i = 0; i < rows; i++) {
            int row = i * cols;
            for (int j = 0; j < cols; j++) {
                dst[j * rows + i] = src[row + j];
            }
        }
    }

    /** Adds bias(N) to every row of c(M,N). */
    public static void addBias(float[] c, float[] bias, int m, int n) {
        for (int i = 0; i < m; i++) {
            int row = i * n;
            for (int j = 0; j < n; j++) c[row + j] += bias[j];
        }
    }

    /** db(N) += column sums of dy(M,N). */
    public static void sumRows(float[] dy, float[] db, int m, int n) {
        for (int i = 0; i < m; i++) {
            int row = i * n;
            for (int j = 0; j < n; j++) db[j] += dy[row + j];
        }
    }
}
