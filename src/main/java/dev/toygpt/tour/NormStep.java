package dev.toygpt.tour;

/**
 * Step 8: BatchNorm-style (each column) versus LayerNorm (each row) normalisation of a (rows, cols) matrix.
 * Standard deviations divide by n, as the normalisations themselves do.
 */
public record NormStep(int rows, int cols, Stats input, Stats batchNorm, Stats layerNorm) {
    /** Mean and standard deviation of every column and every row. */
    public record Stats(double[] columnMeans, double[] columnStds, double[] rowMeans, double[] rowStds) {}
}
