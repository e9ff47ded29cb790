package dev.panomni.kernels;

import dev.panomni.kernels.launch.NormLaunchers;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.NormKernels;

/**
 * CUDA RMSNorm and LayerNorm (norm.cu): a thread group per row with the row in registers, fp32
 * statistics; weight and bias gradients from per-block F32 partial rows added in block order
 * (deterministic, no atomics). The partial buffers live in a scope closed at the end of the call;
 * their frees are ordered after the kernels on the compute stream.
 */
public final class CudaNormKernels implements NormKernels {
    CudaNormKernels() {
    }

    private static int dim(Tensor weight) {
        return Math.toIntExact(weight.numel());
    }

    private static long rows(Tensor x, int d) {
        return d == 0 ? 0 : x.numel() / d;
    }

    @Override
    public void rmsNormForward(Tensor x, Tensor weight, float eps, Tensor y, Tensor rstd) {
        int d = dim(weight);
        NormLaunchers.rmsForward(stream(y), x, weight, eps, y, rstd, rows(x, d), d);
    }

    @Override
    public void rmsNormBackward(Tensor dy, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dweight) {
        int d = dim(weight);
        long rows = rows(x, d);
        try (Scope s = Scope.open("rmsNormBackward")) {
            Tensor partial = dweight == null ? null : partials(x, dy, weight, dx, rows, d);
            NormLaunchers.rmsBackward(stream(x), dy, x, weight, rstd, dx, partial, dweight, rows, d);
        }
    }

    @Override
    public void layerNormForward(Tensor x, Tensor weight, Tensor bias, float eps, Tensor y, Tensor mean, Tensor rstd) {
        int d = dim(weight);
        NormLaunchers.layerForward(stream(y), x, weight, bias, eps, y, mean, rstd, rows(x, d), d);
    }

    @Override
    public void layerNormBackward(Tensor dy, Tensor x, Tensor weight, Tensor mean, Tensor rstd, Tensor dx,
                                  Tensor dweight, Tensor dbias) {
        int d = dim(weight);
        long rows = rows(x, d);
        try (Scope s = Scope.open("layerNormBackward")) {
            Tensor pw = dweight == null ? null : partials(x, dy, weight, dx, rows, d);
            Tensor pb = dbias == null ? null : partials(x, dy, weight, dx, rows, d);
            NormLaunchers.layerBackward(stream(x), dy, x, weight, mean, rstd, dx, pw, dweight, pb, dbias, rows, d);
        }
    }

    private static Tensor partials(Tensor x, Tensor dy, Tensor weight, Tensor dx, long rows, int d) {
        int blocks = NormLaunchers.partialBlocks(rows, d, x.dtype(), NormLaunchers.aligned(dy, x, weight, dx));
        return Tensor.empty(DType.F32, x.device(), blocks, Math.max(1, d));
    }

    private static CudaStream stream(Tensor t) {
        return CudaTensors.device(t).computeStream();
    }
}
