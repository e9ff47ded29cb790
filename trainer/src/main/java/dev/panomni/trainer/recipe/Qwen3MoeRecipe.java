package dev.panomni.trainer.recipe;

import dev.panomni.trainer.config.ModelFamily;

/** Qwen3-MoE: Qwen3 attention, every layer's MLP a set of routed experts (top-k weights renormalized). */
public final class Qwen3MoeRecipe extends DecoderRecipe {
    public Qwen3MoeRecipe() {
        super(ModelFamily.QWEN3_MOE, "qwen3_moe", true, false, true);
    }
}
