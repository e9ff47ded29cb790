package dev.panomni.nn.optim;

import dev.panomni.tensor.Backends;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.OptimizerKernels;
import dev.panomni.tensor.ops.OptimizerKernels.SgdHyper;

import java.util.List;
import java.util.Map;

/**
 * Stochastic gradient descent with momentum, matching PyTorch's {@code torch.optim.SGD}:
 * <pre>
 *   g   = g + weightDecay * p                      (L2, coupled, when weightDecay != 0)
 *   buf = g on a parameter's first update, else momentum * buf + (1 - dampening) * g
 *   d   = nesterov ? g + momentum * buf : buf      (d = g when momentum == 0)
 *   p  -= lr * d
 * </pre>
 * State slot {@code momentum_buffer} (F32, only when momentum != 0), plus the F32 {@code master}
 * of BF16/F16 parameters (see {@link AbstractOptimizer}).
 */
public final class SGD extends AbstractOptimizer {
    public static final String MOMENTUM_BUFFER = "momentum_buffer";

    private final double momentum;
    private final double dampening;
    private final boolean nesterov;

    /**
     * @param groups    parameter groups with their learning rates and weight decays
     * @param momentum  momentum factor, >= 0 (0: plain SGD, no buffer)
     * @param dampening in [0, 1]
     * @param nesterov  Nesterov momentum (needs momentum > 0 and dampening 0, as in PyTorch)
     */
    public SGD(List<ParamGroup> groups, double momentum, double dampening, boolean nesterov) {
        super("SGD", groups);
        if (!(momentum >= 0) || !(dampening >= 0 && dampening <= 1)) {
            throw new IllegalArgumentException("SGD: needs momentum >= 0 and 0 <= dampening <= 1, got momentum="
                    + momentum + " dampening=" + dampening);
        }
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new IllegalArgumentException("SGD: Nesterov momentum needs momentum > 0 and dampening 0, got momentum="
                    + momentum + " dampening=" + dampening);
        }
        this.momentum = momentum;
        this.dampening = dampening;
        this.nesterov = nesterov;
    }

    /** One group, no dampening, no Nesterov. */
    public SGD(Map<String, Tensor> params, double lr, double momentum, double weightDecay) {
        this(List.of(ParamGroup.of(params, lr, weightDecay)), momentum, 0.0, false);
    }

    @Override
    protected List<String> slotNames(Tensor param) {
        return momentum != 0 ? List.of(MOMENTUM_BUFFER) : List.of();
    }

    @Override
    protected void update(Device device, List<Update> batch) {
        int n = batch.size();
        Tensor[] params = new Tensor[n];
        Tensor[] grads = new Tensor[n];
        Tensor[] buffers = new Tensor[n];
        Tensor[] masters = new Tensor[n];
        SgdHyper[] hyper = new SgdHyper[n];
        for (int i = 0; i < n; i++) {
            Update u = batch.get(i);
            params[i] = u.param();
            grads[i] = u.grad();
            buffers[i] = u.state().slot(MOMENTUM_BUFFER);
            masters[i] = u.state().slot(MASTER);
            hyper[i] = new SgdHyper(lr(u.group()), momentum, dampening, u.group().weightDecay(), nesterov,
                    u.state().step() == 1);
        }
        Backends.forDevice(device).kernels(OptimizerKernels.class).sgdStep(params, grads, buffers, masters, hyper);
    }
}
