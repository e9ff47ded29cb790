package dev.panomni.nn;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Attention;
import dev.panomni.tensor.ops.AttentionOptions;

/**
 * The core of an attention module, {@code softmax(q k^T * scale + mask) v}, as a replaceable
 * function: single-device code uses {@link #LOCAL}; a parallel engine installs a sequence-parallel
 * one (Ulysses, ring) through {@link PluggableAttention} without the model knowing.
 *
 * <p>Shapes are those of {@link Attention#sdpa}'s packed form: q [T, Hq, D], k and v [T, Hkv, D]
 * for the tokens this rank holds; the result is [T, Hq, D].
 */
@FunctionalInterface
public interface AttentionFunction {
    Tensor attend(Tensor q, Tensor k, Tensor v, AttentionOptions opts);

    /** Plain fused attention on this device over the tokens given. */
    AttentionFunction LOCAL = Attention::sdpa;
}
