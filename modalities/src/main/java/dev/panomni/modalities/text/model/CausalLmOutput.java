package dev.panomni.modalities.text.model;

import dev.panomni.tensor.Tensor;

import java.util.List;

/**
 * What a training forward returns.
 *
 * @param loss          the loss to back-propagate: lmLoss + router_aux_loss_coef * auxLoss (0-dim F32)
 * @param lmLoss        mean next-token cross-entropy over non-ignored labels
 * @param auxLoss       MoE load-balancing loss, or null for dense models
 * @param routerStats   per MoE layer: tokens per expert and router probability mass
 */
public record CausalLmOutput(Tensor loss, Tensor lmLoss, Tensor auxLoss, List<RouterStats> routerStats) {
}
