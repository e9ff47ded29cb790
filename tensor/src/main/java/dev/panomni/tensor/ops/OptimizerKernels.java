package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * Fused optimizer updates over many tensors at once, so a backend can run one multi-tensor kernel
 * per step instead of a dozen elementwise passes per parameter.
 *
 * <p>Common contract: entry {@code i} of each array belongs to parameter {@code i}; all tensors are
 * contiguous and on this backend's device. A parameter is F32, BF16 or F16; its gradient has the
 * parameter's dtype and shape. Optimizer state (moments, momentum buffers, masters) is always F32.
 * When {@code masters[i]} is non-null (a low-precision parameter) the update is computed on the F32
 * master, and the master's new value, rounded to nearest even, is written into the parameter; when
 * it is null the F32 parameter is updated directly. All arithmetic is F32 or wider.
 */
public interface OptimizerKernels {
    /**
     * AdamW hyper-parameters of one tensor for one step.
     *
     * @param lr          learning rate
     * @param beta1       first-moment decay
     * @param beta2       second-moment decay
     * @param eps         added to the bias-corrected root second moment
     * @param weightDecay decoupled decay: the parameter is multiplied by {@code 1 - lr * weightDecay}
     * @param step        1-based count of updates of this tensor, including this one (bias correction)
     */
    record AdamWHyper(double lr, double beta1, double beta2, double eps, double weightDecay, long step) {
    }

    /**
     * SGD hyper-parameters of one tensor for one step.
     *
     * @param lr          learning rate
     * @param momentum    momentum factor (0: plain SGD, the buffer array entry may be null)
     * @param dampening   scales the new gradient's share of the momentum buffer by {@code 1 - dampening}
     * @param weightDecay L2 penalty added to the gradient ({@code g + weightDecay * p}), as in PyTorch
     * @param nesterov    use {@code g + momentum * buf} instead of {@code buf} as the update direction
     * @param firstStep   the buffer is empty: it is set to the gradient (no dampening), as in PyTorch
     */
    record SgdHyper(double lr, double momentum, double dampening, double weightDecay, boolean nesterov,
                    boolean firstStep) {
    }

    /**
     * One AdamW step, as PyTorch's {@code torch.optim.AdamW}: {@code p *= 1 - lr*wd;
     * m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)}.
     *
     * @param params   parameters, updated in place
     * @param grads    gradients (read only)
     * @param expAvg   F32 first moments, updated in place
     * @param expAvgSq F32 second moments, updated in place
     * @param masters  F32 master copies for low-precision parameters, null entries for F32 ones
     * @param hyper    per-tensor hyper-parameters
     */
    void adamwStep(Tensor[] params, Tensor[] grads, Tensor[] expAvg, Tensor[] expAvgSq, Tensor[] masters,
                   AdamWHyper[] hyper);

    /**
     * One SGD step with momentum, as PyTorch's {@code torch.optim.SGD}: {@code g += wd*p;
     * buf = momentum*buf + (1-dampening)*g} (or {@code buf = g} on the first step);
     * {@code d = nesterov ? g + momentum*buf : buf}; {@code p -= lr*d}.
     *
     * @param params          parameters, updated in place
     * @param grads           gradients (read only)
     * @param momentumBuffers F32 momentum buffers (entries null when momentum is 0)
     * @param masters         F32 master copies for low-precision parameters, null entries for F32 ones
     * @param hyper           per-tensor hyper-parameters
     */
    void sgdStep(Tensor[] params, Tensor[] grads, Tensor[] momentumBuffers, Tensor[] masters, SgdHyper[] hyper);
}
