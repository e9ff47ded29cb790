package dev.panomni.nn.optim;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.GradNormKernels;
import dev.panomni.tensor.ops.Layout;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Global L2 gradient-norm clipping, computed on the gradients' device: one sum-of-squares kernel
 * over all gradients into a device vector, one combine into a device scalar, and one in-place scale
 * that reads the scalar on the device. The host reads the norm at most once, at the end.
 *
 * <p>A non-finite norm (a NaN or infinite gradient somewhere) is returned as is and the gradients
 * are left unscaled: the caller sees it and decides (skip the step, stop with
 * {@link #nonFiniteGradients}), rather than training on silently zeroed or NaN-spread gradients.
 *
 * <p>For sharded gradients, combine per-rank norms as {@code sqrt(allReduceSum(norm^2))} and pass
 * the result to {@link #scaleToMaxNorm}.
 */
public final class GradClip {
    /** Added to the norm before dividing, as in PyTorch's {@code clip_grad_norm_}. */
    public static final double EPS = 1e-6;

    private GradClip() {
    }

    /**
     * Scales all gradients by {@code min(1, maxNorm / (norm + 1e-6))}, where norm is the L2 norm of
     * all gradients together; parameters without a gradient are skipped.
     *
     * @return the total norm before clipping (NaN or infinite when a gradient is; then nothing is scaled)
     */
    public static double clipGradNorm(Iterable<Tensor> params, double maxNorm) {
        try (Scope s = Scope.open("clipGradNorm")) {
            return clipGradNormTensor(params, maxNorm).item();
        }
    }

    /**
     * {@link #clipGradNorm} without a host read: returns the total norm before clipping as an F32
     * scalar on the gradients' device (host when there are none), owned by the current scope.
     */
    public static Tensor clipGradNormTensor(Iterable<Tensor> params, double maxNorm) {
        if (!(maxNorm > 0)) {
            throw new IllegalArgumentException("clipGradNorm: maxNorm must be > 0, got " + maxNorm);
        }
        Tensor[] grads = grads("clipGradNorm", params);
        Tensor norm = totalNorm(grads);
        if (grads.length > 0) {
            kernels(norm.device()).scaleToMaxNorm(grads, norm, maxNorm, EPS);
        }
        return norm;
    }

    /** The L2 norm of all gradients together, an F32 scalar on their device; nothing is scaled. */
    public static Tensor totalNorm(Iterable<Tensor> params) {
        return totalNorm(grads("totalNorm", params));
    }

    /**
     * Scales all gradients in place by {@code min(1, maxNorm / (norm + 1e-6))} for a norm computed
     * elsewhere (an F32 scalar on the gradients' device); a non-finite norm scales nothing.
     */
    public static void scaleToMaxNorm(Iterable<Tensor> params, Tensor norm, double maxNorm) {
        Tensor[] grads = grads("scaleToMaxNorm", params);
        if (grads.length == 0) {
            return;
        }
        if (norm.numel() != 1 || norm.dtype() != DType.F32 || !norm.device().equals(grads[0].device())) {
            throw new IllegalArgumentException("scaleToMaxNorm: norm must be a one-element F32 tensor on "
                    + grads[0].device() + ", got " + norm.describe());
        }
        kernels(norm.device()).scaleToMaxNorm(grads, norm, maxNorm, EPS);
    }

    /**
     * Names of the parameters whose gradient holds a NaN or infinity, for the message when a norm
     * comes back non-finite (one host read of the per-tensor sums).
     */
    public static List<String> nonFiniteGradients(Map<String, Tensor> namedParams) {
        Map<String, Tensor> withGrad = new LinkedHashMap<>();
        namedParams.forEach((k, p) -> {
            if (p.grad() != null) {
                withGrad.put(k, p);
            }
        });
        Tensor[] grads = grads("nonFiniteGradients", withGrad.values());
        List<String> out = new ArrayList<>();
        if (grads.length == 0) {
            return out;
        }
        try (Scope s = Scope.open("nonFiniteGradients")) {
            Tensor partials = Tensor.empty(DType.F32, grads[0].device(), grads.length);
            kernels(partials.device()).sumOfSquares(grads, partials);
            float[] sums = partials.toFloatArray();
            int i = 0;
            for (String k : withGrad.keySet()) {
                if (!Float.isFinite(sums[i++])) {
                    out.add(k);
                }
            }
        }
        return out;
    }

    private static Tensor totalNorm(Tensor[] grads) {
        if (grads.length == 0) {
            return Tensor.zeros(DType.F32, Device.CPU);
        }
        Device device = grads[0].device();
        Tensor norm = Tensor.empty(DType.F32, device);
        try (Scope s = Scope.open("gradNorm")) {
            Tensor partials = Tensor.empty(DType.F32, device, grads.length);
            GradNormKernels k = kernels(device);
            k.sumOfSquares(grads, partials);
            k.combineNorm(partials, norm);
        }
        return norm;
    }

    /** The gradients of {@code params} that have one: live, contiguous, on one device. */
    private static Tensor[] grads(String op, Iterable<Tensor> params) {
        List<Tensor> out = new ArrayList<>();
        for (Tensor p : params) {
            Tensor g = p.grad();
            if (g == null) {
                continue;
            }
            g.checkLive();
            if (!g.isContiguous()) {
                // Engine-made gradients are dense; replace a strided one set by hand, in its owner's scope.
                Scope owner = g.owner() != null ? g.owner() : Scope.current();
                Tensor strided = g;
                Tensor dense = GradMode.noGrad(() -> Layout.copy(strided)).moveTo(owner);
                p.setGrad(dense);
                g = dense;
            }
            if (!out.isEmpty() && !g.device().equals(out.get(0).device())) {
                throw new IllegalArgumentException(op + ": gradients on several devices (" + out.get(0).device() + ", "
                        + g.device() + "); clip per device and combine the norms");
            }
            out.add(g);
        }
        return out.toArray(new Tensor[0]);
    }

    private static GradNormKernels kernels(Device device) {
        return dev.panomni.tensor.Backends.forDevice(device).kernels(GradNormKernels.class);
    }
}
