package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * Kernels for cross-entropy over rows of logits. Logits are contiguous [rows, classes] of a
 * floating dtype the backend computes natively (F32 on the CPU); targets are contiguous [rows],
 * I64 or I32; per-row outputs are contiguous F32 [rows]. A target equal to {@code ignoreIndex}
 * marks a row that contributes no loss and no gradient. Rows are independent, so a caller may
 * hand any block of rows (the chunked fused linear + cross-entropy runs one block at a time).
 */
public interface LossKernels {
    /**
     * What {@link #checkTargets} found.
     *
     * @param counted      targets that are not {@code ignoreIndex}
     * @param firstInvalid row-major position of the first target outside [0, classes) that is not
     *                     {@code ignoreIndex}, or -1 when every target is valid
     */
    record TargetCheck(long counted, long firstInvalid) {
    }

    /**
     * Counts the targets that take part in the loss and finds the first invalid one. This returns
     * host values: a device backend synchronizes here (the mean's divisor and the error need them).
     */
    TargetCheck checkTargets(Tensor targets, long classes, long ignoreIndex);

    /**
     * Per row r with target t: {@code rowLse[r] = log(sum_c exp(logits[r, c]))} and
     * {@code rowLoss[r] = rowLse[r] - logits[r, t]}; rows with t == ignoreIndex get loss 0. Targets
     * must have passed {@link #checkTargets}.
     *
     * @param rowLse may be null when no backward follows
     */
    void crossEntropyForward(Tensor logits, Tensor targets, long ignoreIndex, Tensor rowLoss, Tensor rowLse);

    /**
     * {@code gradLogits[r] = (exp(logits[r] - rowLse[r]) - onehot(t)) * upstream * scale}, rows with
     * t == ignoreIndex all zero. {@code upstream} is a one-element tensor of the logits' dtype (the
     * gradient of the reduced loss, read on the device); {@code scale} is 1/count for a mean, 1 for
     * a sum. {@code gradLogits} may be {@code logits}.
     */
    void crossEntropyBackward(Tensor logits, Tensor targets, long ignoreIndex, Tensor rowLse, Tensor upstream,
                              double scale, Tensor gradLogits);

    /**
     * Forward and gradient in one pass over each row: {@code rowLoss} as {@link #crossEntropyForward}
     * and {@code gradLogits[r] = (softmax(logits[r]) - onehot(t)) * gradScale}, zero rows for ignored
     * targets. {@code gradLogits} may be {@code logits}, which is then overwritten in place: the
     * building block of chunked losses, which never hold a whole logits tensor.
     */
    void crossEntropyFused(Tensor logits, Tensor targets, long ignoreIndex, double gradScale, Tensor rowLoss,
                           Tensor gradLogits);
}
