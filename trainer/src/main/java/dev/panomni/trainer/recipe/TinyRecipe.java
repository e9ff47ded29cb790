package dev.panomni.trainer.recipe;

import dev.panomni.trainer.config.ModelFamily;

/**
 * The demonstration family: a small Qwen3-shaped decoder over the byte vocabulary, built and
 * trained through exactly the same path as the full-size families (it exports as {@code qwen3}).
 */
public final class TinyRecipe extends DecoderRecipe {
    public TinyRecipe() {
        super(ModelFamily.TINY, "qwen3", true, false, false);
    }
}
