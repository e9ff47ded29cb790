package dev.panomni.trainer.config;

/** Model families the trainer knows how to build (YAML: lower case, e.g. {@code qwen3_moe}). */
public enum ModelFamily {
    /** A small Qwen3-style decoder for the built-in demonstration job and tests. */
    TINY,
    /** Dense Qwen3 decoders. */
    QWEN3,
    /** Qwen3 Mixture-of-Experts decoders. */
    QWEN3_MOE,
    /** Llama 3 decoders. */
    LLAMA;

    /** True for families whose feed-forward layers are routed experts. */
    public boolean isMoe() {
        return this == QWEN3_MOE;
    }
}
