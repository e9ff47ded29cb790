package dev.panomni.trainer;

import dev.panomni.tensor.Tensor;

/**
 * A hook on each micro-batch's loss before backward, for fault injection in tests (a NaN at a
 * chosen step) and for instrumentation. The default leaves the loss alone.
 */
@FunctionalInterface
public interface StepInterceptor {
    StepInterceptor NONE = (step, micro, loss) -> loss;

    /**
     * @param step  the optimizer step being computed (1-based)
     * @param micro the micro-batch within the step (0-based)
     * @param loss  the micro-batch's loss (0-dim F32, recorded for backward)
     * @return the loss to back-propagate
     */
    Tensor onLoss(long step, int micro, Tensor loss);
}
