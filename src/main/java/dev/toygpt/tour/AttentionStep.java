package dev.toygpt.tour;

/**
 * Step 7: one head of causal self-attention, computed piece by piece.
 *
 * @param qShape           shape of the queries (keys and values have the same): (B, T, head_size)
 * @param lastScores       scaled scores q kᵀ / sqrt(head_size) of the last batch row, masked (-inf above the diagonal), (T, T)
 * @param lastWeights      the softmax of those scores: the attention weights of the last batch row, (T, T)
 * @param lastRowSum       sum of the weights of the last position (row T-1 of lastWeights)
 * @param output           the head's output computed from the pieces, (B, T, head_size)
 * @param fusedMaxDiff     max |output - F.causalSelfAttention(q, k, v)|
 * @param varQ             variance of random unit-variance queries
 * @param varK             variance of random unit-variance keys
 * @param varUnscaled      variance of q kᵀ on them: about head_size
 * @param varScaled        variance of q kᵀ / sqrt(head_size): about 1
 * @param unscaledRow      softmax of one row of unscaled scores (last position of the first batch row)
 * @param scaledRow        softmax of the same row, scaled
 */
public record AttentionStep(int batch, int time, int channels, int headSize, int[] qShape,
                            float[] lastScores, float[] lastWeights, double lastRowSum, float[] output,
                            double fusedMaxDiff, double varQ, double varK, double varUnscaled, double varScaled,
                            float[] unscaledRow, float[] scaledRow) {}
