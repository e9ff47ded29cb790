package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * How {@link Attention#sdpa} attends.
 *
 * @param causal    each query sees only keys at or before its own position (within its document)
 * @param scale     multiplier of the logits {@code q . k}; NaN means the default {@code 1 / sqrt(D)}
 * @param cuSeqlens null, or an I32 tensor [docs + 1] on the inputs' device holding the cumulative
 *                  document starts of a packed sequence ({@code 0, len0, len0 + len1, ..., T}):
 *                  no query attends across a document boundary. Only for the packed form [T, H, D].
 *                  Its values are read by the kernel (on the device for a GPU backend), never by the
 *                  front end.
 */
public record AttentionOptions(boolean causal, double scale, Tensor cuSeqlens) {
    /** Causal attention over one sequence, default scale. */
    public static AttentionOptions causalMask() {
        return new AttentionOptions(true, Double.NaN, null);
    }

    /** Bidirectional attention over one sequence (encoders), default scale. */
    public static AttentionOptions bidirectional() {
        return new AttentionOptions(false, Double.NaN, null);
    }

    /** These options for a packed sequence of documents delimited by {@code cuSeqlens} (I32 [docs + 1]). */
    public AttentionOptions withCuSeqlens(Tensor cuSeqlens) {
        return new AttentionOptions(causal, scale, cuSeqlens);
    }

    /** These options with logit multiplier {@code scale}. */
    public AttentionOptions withScale(double scale) {
        return new AttentionOptions(causal, scale, cuSeqlens);
    }

    /** The logit multiplier for head dim {@code headDim}. */
    public double scaleFor(long headDim) {
        return Double.isNaN(scale) ? 1.0 / Math.sqrt(headDim) : scale;
    }
}
