package dev.toygpt.tour;

/**
 * Step 6: "each position gets the mean of itself and everything before it", computed three ways.
 * Arrays are flat and row-major: x and the averages are (B, T, C), the weight matrices (T, T).
 *
 * @param loops          averages from explicit loops
 * @param viaMatmul      averages from a lower-triangular matrix with rows summing to 1, times x
 * @param viaSoftmax     averages from softmax(zeros masked with -inf above the diagonal), times x
 * @param trilWeights    the row-normalised lower-triangular matrix
 * @param softmaxWeights the masked-softmax matrix (should be the same matrix)
 * @param maxDiffMatmul  max |loops - viaMatmul|
 * @param maxDiffSoftmax max |loops - viaSoftmax|
 */
public record AveragingStep(int batch, int time, int channels, float[] x, float[] loops, float[] viaMatmul,
                            float[] viaSoftmax, float[] trilWeights, float[] softmaxWeights,
                            double maxDiffMatmul, double maxDiffSoftmax) {}
