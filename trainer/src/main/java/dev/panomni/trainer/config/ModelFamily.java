package dev.panomni.trainer.config;

/**
 * Model families the trainer knows how to build (YAML: lower case, e.g. {@code qwen3_moe}). Each has
 * a recipe ({@code dev.panomni.trainer.recipe.Recipes}) that builds it.
 */
public enum ModelFamily {
    /** A small Qwen3-shaped decoder over bytes, for the built-in demonstration job and tests. */
    TINY,
    /** Dense Qwen3 decoders (RMSNorm on queries and keys). */
    QWEN3,
    /** Qwen3 Mixture-of-Experts decoders. */
    QWEN3_MOE,
    /** Qwen2 / Qwen2.5 decoders (biases on the query, key and value projections). */
    QWEN2,
    /** Llama 3 decoders. */
    LLAMA;

    /** True for families whose feed-forward layers are routed experts. */
    public boolean isMoe() {
        return this == QWEN3_MOE;
    }
}
