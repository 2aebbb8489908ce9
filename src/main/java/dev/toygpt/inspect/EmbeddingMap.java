package dev.toygpt.inspect;

import dev.toygpt.models.LanguageModel;
import dev.toygpt.nn.StateDict;

/**
 * The token embedding table seen from above: each token's vector projected on the table's first two
 * principal components (the directions along which the tokens' vectors differ most), so characters the
 * model treats alike land close together.
 *
 * @param points    [token][2]: the coordinates along the first and second component
 * @param explained the share of the total variance along each of the two components
 */
public record EmbeddingMap(float[][] points, double[] explained) {
    /** The state-dict names of token embedding tables, GPT and bigram first, then the embedding MLP. */
    private static final String[] TABLES = {"token_embedding_table.weight", "token_embedding.weight"};

    /** True when the model has a token embedding table. */
    public static boolean hasTable(LanguageModel model) {
        return table(model) != null;
    }

    public static EmbeddingMap of(LanguageModel model) {
        StateDict.Entry e = table(model);
        if (e == null) {
            throw new IllegalArgumentException("the " + model.config().kind() + " model has no token embedding table");
        }
        return of(e.read(), e.shape()[0], e.shape()[1]);
    }

    /** PCA of a (rows, cols) table. */
    public static EmbeddingMap of(float[] table, int rows, int cols) {
        double[] mean = new double[cols];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) mean[c] += table[r * cols + c];
        for (int c = 0; c < cols; c++) mean[c] /= rows;
        double[][] centred = new double[rows][cols];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) centred[r][c] = table[r * cols + c] - mean[c];
        double[][] cov = new double[cols][cols];
        for (double[] x : centred) {
            for (int i = 0; i < cols; i++) {
                if (x[i] == 0) continue;
                for (int j = 0; j < cols; j++) cov[i][j] += x[i] * x[j];
            }
        }
        double trace = 0;
        for (int i = 0; i < cols; i++) trace += cov[i][i];
        double[][] components = new double[2][];
        double[] explained = new double[2];
        for (int k = 0; k < 2; k++) {
            double[] v = k < cols ? topEigenvector(cov, components, k) : new double[cols];
            double lambda = rayleigh(cov, v);
            components[k] = v;
            explained[k] = trace > 0 ? Math.max(0, lambda) / trace : 0;
        }
        float[][] points = new float[rows][2];
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < 2; k++) points[r][k] = (float) dot(centred[r], components[k]);
        }
        return new EmbeddingMap(points, explained);
    }

    /**
     * The leading eigenvector of the symmetric matrix a, orthogonal to the first k found ones, by power
     * iteration. Its sign is fixed so the largest entry is positive (the same table gives the same picture).
     */
    private static double[] topEigenvector(double[][] a, double[][] found, int k) {
        int n = a.length;
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = 1.0 + 0.01 * i; // a start not orthogonal to anything in particular
        orthogonalise(v, found, k);
        if (normalise(v) == 0) return v;
        double[] w = new double[n];
        for (int iter = 0; iter < 1000; iter++) {
            for (int i = 0; i < n; i++) w[i] = dot(a[i], v);
            orthogonalise(w, found, k);
            if (normalise(w) == 0) return w;
            double change = 0;
            for (int i = 0; i < n; i++) change = Math.max(change, Math.abs(w[i] - v[i]));
            double[] t = v;
            v = w;
            w = t;
            if (change < 1e-10) break;
        }
        int largest = 0;
        for (int i = 1; i < n; i++) if (Math.abs(v[i]) > Math.abs(v[largest])) largest = i;
        if (v[largest] < 0) for (int i = 0; i < n; i++) v[i] = -v[i];
        return v;
    }

    private static void orthogonalise(double[] v, double[][] found, int k) {
        for (int j = 0; j < k; j++) {
            double d = dot(v, found[j]);
            for (int i = 0; i < v.length; i++) v[i] -= d * found[j][i];
        }
    }

    private static double normalise(double[] v) {
        double norm = Math.sqrt(dot(v, v));
        if (norm < 1e-300) return 0;
        for (int i = 0; i < v.length; i++) v[i] /= norm;
        return norm;
    }

    private static double rayleigh(double[][] a, double[] v) {
        double s = 0;
        for (int i = 0; i < v.length; i++) s += v[i] * dot(a[i], v);
        return s;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    private static StateDict.Entry table(LanguageModel model) {
        var entries = model.stateDict().entries();
        for (String name : TABLES) if (entries.containsKey(name)) return entries.get(name);
        return null;
    }
}
