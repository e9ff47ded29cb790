package dev.panomni.nn.optim;

import dev.panomni.tensor.Backends;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.OptimizerKernels;
import dev.panomni.tensor.ops.OptimizerKernels.AdamWHyper;

import java.util.List;
import java.util.Map;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter), matching PyTorch's
 * {@code torch.optim.AdamW} with {@code amsgrad=False}: per parameter and step t,
 * <pre>
 *   p  = p * (1 - lr * weightDecay)
 *   m  = beta1 * m + (1 - beta1) * g
 *   v  = beta2 * v + (1 - beta2) * g^2
 *   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 * with t counted per parameter (a parameter without a gradient in a step is skipped and its count
 * does not advance). State slots: {@code exp_avg} and {@code exp_avg_sq}, both F32, plus the F32
 * {@code master} of BF16/F16 parameters (see {@link AbstractOptimizer} for the mixed-precision
 * contract). The whole update of all parameters on a device is one {@link OptimizerKernels#adamwStep}
 * call.
 */
public final class AdamW extends AbstractOptimizer {
    public static final String EXP_AVG = "exp_avg";
    public static final String EXP_AVG_SQ = "exp_avg_sq";

    private final double beta1;
    private final double beta2;
    private final double eps;

    /**
     * @param groups parameter groups with their learning rates and weight decays
     * @param beta1  first-moment decay, in [0, 1)
     * @param beta2  second-moment decay, in [0, 1)
     * @param eps    denominator guard, > 0
     */
    public AdamW(List<ParamGroup> groups, double beta1, double beta2, double eps) {
        super("AdamW", groups);
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0)) {
            throw new IllegalArgumentException("AdamW: needs 0 <= beta1, beta2 < 1 and eps > 0, got beta1=" + beta1
                    + " beta2=" + beta2 + " eps=" + eps);
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
    }

    /** One group, PyTorch's defaults: betas (0.9, 0.999), eps 1e-8. */
    public AdamW(Map<String, Tensor> params, double lr, double weightDecay) {
        this(List.of(ParamGroup.of(params, lr, weightDecay)), 0.9, 0.999, 1e-8);
    }

    public double beta1() {
        return beta1;
    }

    public double beta2() {
        return beta2;
    }

    public double eps() {
        return eps;
    }

    @Override
    protected List<String> slotNames(Tensor param) {
        return List.of(EXP_AVG, EXP_AVG_SQ);
    }

    @Override
    protected void update(Device device, List<Update> batch) {
        int n = batch.size();
        Tensor[] params = new Tensor[n];
        Tensor[] grads = new Tensor[n];
        Tensor[] m = new Tensor[n];
        Tensor[] v = new Tensor[n];
        Tensor[] masters = new Tensor[n];
        AdamWHyper[] hyper = new AdamWHyper[n];
        for (int i = 0; i < n; i++) {
            Update u = batch.get(i);
            params[i] = u.param();
            grads[i] = u.grad();
            m[i] = u.state().slot(EXP_AVG);
            v[i] = u.state().slot(EXP_AVG_SQ);
            masters[i] = u.state().slot(MASTER);
            hyper[i] = new AdamWHyper(lr(u.group()), beta1, beta2, eps, u.group().weightDecay(), u.state().step());
        }
        Backends.forDevice(device).kernels(OptimizerKernels.class).adamwStep(params, grads, m, v, masters, hyper);
    }
}
