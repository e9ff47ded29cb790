package dev.panomni.modalities.text.model;

import dev.panomni.tensor.Tensor;

/**
 * What one MoE layer's router did on a batch, for the load-balancing loss and for logging.
 *
 * @param assigned         F32 [experts] (token, slot) assignments per expert, on the router's device (no
 *                         gradient; counts are exact in F32 below 2^24)
 * @param probSum          F32 [experts] sum over tokens of the router's softmax probabilities (with gradient)
 * @param tokens           tokens routed
 */
public record RouterStats(Tensor assigned, Tensor probSum, long tokens) {
}
