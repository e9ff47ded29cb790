package dev.panomni.trainer.checkpoint;

/**
 * A counter-based generator's position ({@code dev.panomni.tensor.random.Generator}: seed and
 * counter offset), enough to continue its stream exactly.
 */
public record RngState(long seed, long offset) {
}
