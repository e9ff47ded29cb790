package dev.panomni.trainer.recipe;

import dev.panomni.trainer.config.ModelFamily;

/** Qwen2 / Qwen2.5: biases on the query, key and value projections, no query/key norm. */
public final class Qwen2Recipe extends DecoderRecipe {
    public Qwen2Recipe() {
        super(ModelFamily.QWEN2, "qwen2", false, true, false);
    }
}
