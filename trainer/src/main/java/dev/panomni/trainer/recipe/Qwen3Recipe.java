package dev.panomni.trainer.recipe;

import dev.panomni.trainer.config.ModelFamily;

/** Dense Qwen3: RMSNorm on each head's queries and keys, no projection biases. */
public final class Qwen3Recipe extends DecoderRecipe {
    public Qwen3Recipe() {
        super(ModelFamily.QWEN3, "qwen3", true, false, false);
    }
}
