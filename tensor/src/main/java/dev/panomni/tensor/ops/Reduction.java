package dev.panomni.tensor.ops;

/** How a loss combines its per-element values into one number. */
public enum Reduction {
    /** The mean over the elements that count (for cross-entropy: the targets that are not ignored). */
    MEAN,
    /** The plain sum. */
    SUM
}
