package dev.panomni.nn;

/**
 * A module whose attention core is an {@link AttentionFunction} that outside code may replace
 * (sequence parallelism), so the module itself stays single-device code.
 */
public interface PluggableAttention {
    /** The function in use ({@link AttentionFunction#LOCAL} unless replaced). */
    AttentionFunction attentionFunction();

    /** Replaces the attention core; null restores {@link AttentionFunction#LOCAL}. */
    void setAttentionFunction(AttentionFunction f);
}
