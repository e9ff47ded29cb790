package dev.panomni.modalities.text.model;

import dev.panomni.tensor.Tensor;

/**
 * What one MoE layer's router did on a batch, for the load-balancing loss and for logging.
 *
 * @param tokensPerExpert  [experts] (token, slot) assignments per expert (host values, no gradient)
 * @param probSum          F32 [experts] sum over tokens of the router's softmax probabilities (with gradient)
 * @param tokens           tokens routed
 */
public record RouterStats(long[] tokensPerExpert, Tensor probSum, long tokens) {
}
