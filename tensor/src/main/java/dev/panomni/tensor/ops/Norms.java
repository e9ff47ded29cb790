package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;

/**
 * Normalizations over the last dim (RMSNorm, LayerNorm), each one fused kernel forward and one
 * backward. The forward saves the per-row statistics (F32) so the backward does not recompute them;
 * weight and bias gradients are reduced over rows deterministically.
 */
public final class Norms {
    private Norms() {
    }

    static NormKernels kernels(Tensor t) {
        return t.backend().kernels(NormKernels.class);
    }

    /**
     * RMSNorm (Llama, Qwen): {@code y = x / sqrt(mean(x^2) + eps) * weight} over the last dim,
     * computed in F32 and rounded once to x's dtype.
     *
     * @param x      [..., D] floating
     * @param weight [D], same dtype and device as x
     * @param eps    added to the mean square before the root (e.g. 1e-6)
     * @return [..., D] in x's dtype
     */
    public static Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        String op = "rmsNorm";
        long d = checkArgs(op, x, weight, null);
        long rows = x.numel() / Math.max(d, 1);
        long[] shape = x.shape();
        DType dtype = x.dtype();
        boolean record = Autograd.needsRecord(x, weight);
        Tensor[] res = GradMode.noGrad(() -> {
            try (Scope s = Scope.open(op)) {
                Tensor xc = WorkingCopies.contiguous(x);
                Tensor xw = WorkingCopies.input(xc);
                Tensor ww = WorkingCopies.input(weight);
                Tensor yw = WorkingCopies.output(xw, rows, d);
                Tensor rstd = record ? WorkingCopies.f32(x.device(), rows) : null;
                kernels(x).rmsNormForward(xw, ww, (float) eps, yw, rstd);
                Tensor y = WorkingCopies.finish(yw, dtype).view(shape);
                return new Tensor[] {s.keep(y), keepOrNull(s, xc, record), keepOrNull(s, rstd, record)};
            }
        });
        Tensor y = res[0];
        if (record) {
            Tensor xc = res[1];
            Tensor rstd = res[2];
            Autograd.record(new Node(op, x, weight) {
                final Tensor savedX = save(xc);
                final Tensor savedW = save(weight);
                final Tensor savedRstd = save(rstd);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor dyw = WorkingCopies.input(g[0]);
                    Tensor xw = WorkingCopies.input(savedX);
                    Tensor ww = WorkingCopies.input(savedW);
                    Tensor dx = needsGrad(0) ? WorkingCopies.output(xw, rows, d) : null;
                    Tensor dw = needsGrad(1) ? WorkingCopies.f32(x.device(), d) : null;
                    kernels(xw).rmsNormBackward(dyw, xw, ww, savedRstd, dx, dw);
                    return new Tensor[] {
                        dx == null ? null : WorkingCopies.finish(dx, dtype).view(shape),
                        WorkingCopies.finish(dw, dtype)
                    };
                }
            }, y);
            WorkingCopies.close(xc, rstd);
        }
        return y;
    }

    /**
     * LayerNorm: {@code y = (x - mean) / sqrt(var + eps) * weight + bias} over the last dim (biased
     * variance), computed in F32 and rounded once to x's dtype.
     *
     * @param x      [..., D] floating
     * @param weight [D], same dtype and device as x
     * @param bias   [D] or null for none
     * @param eps    added to the variance before the root (e.g. 1e-5)
     * @return [..., D] in x's dtype
     */
    public static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        String op = "layerNorm";
        long d = checkArgs(op, x, weight, bias);
        long rows = x.numel() / Math.max(d, 1);
        long[] shape = x.shape();
        DType dtype = x.dtype();
        boolean record = Autograd.needsRecord(x, weight, bias);
        Tensor[] res = GradMode.noGrad(() -> {
            try (Scope s = Scope.open(op)) {
                Tensor xc = WorkingCopies.contiguous(x);
                Tensor xw = WorkingCopies.input(xc);
                Tensor ww = WorkingCopies.input(weight);
                Tensor bw = WorkingCopies.input(bias);
                Tensor yw = WorkingCopies.output(xw, rows, d);
                Tensor mean = record ? WorkingCopies.f32(x.device(), rows) : null;
                Tensor rstd = record ? WorkingCopies.f32(x.device(), rows) : null;
                kernels(x).layerNormForward(xw, ww, bw, (float) eps, yw, mean, rstd);
                Tensor y = WorkingCopies.finish(yw, dtype).view(shape);
                return new Tensor[] {s.keep(y), keepOrNull(s, xc, record), keepOrNull(s, mean, record),
                    keepOrNull(s, rstd, record)};
            }
        });
        Tensor y = res[0];
        if (record) {
            Tensor xc = res[1];
            Tensor mean = res[2];
            Tensor rstd = res[3];
            Autograd.record(new Node(op, x, weight, bias) {
                final Tensor savedX = save(xc);
                final Tensor savedW = save(weight);
                final Tensor savedMean = save(mean);
                final Tensor savedRstd = save(rstd);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor dyw = WorkingCopies.input(g[0]);
                    Tensor xw = WorkingCopies.input(savedX);
                    Tensor ww = WorkingCopies.input(savedW);
                    Tensor dx = needsGrad(0) ? WorkingCopies.output(xw, rows, d) : null;
                    Tensor dw = needsGrad(1) ? WorkingCopies.f32(x.device(), d) : null;
                    Tensor db = needsGrad(2) ? WorkingCopies.f32(x.device(), d) : null;
                    kernels(xw).layerNormBackward(dyw, xw, ww, savedMean, savedRstd, dx, dw, db);
                    return new Tensor[] {
                        dx == null ? null : WorkingCopies.finish(dx, dtype).view(shape),
                        WorkingCopies.finish(dw, dtype),
                        WorkingCopies.finish(db, dtype)
                    };
                }
            }, y);
            WorkingCopies.close(xc, mean, rstd);
        }
        return y;
    }

    private static Tensor keepOrNull(Scope s, Tensor t, boolean keep) {
        return keep && t != null ? s.keep(t) : null;
    }

    /** Checks x [..., D], weight [D], bias [D] or null; returns D. */
    private static long checkArgs(String op, Tensor x, Tensor weight, Tensor bias) {
        OpChecks.sameDeviceAndDtype(op, x, weight, bias);
        OpChecks.floating(op, x);
        if (x.rank() < 1) {
            throw new TensorOpException(op, "x must have at least one dim [..., D], got shape " + Shapes.str(x.shape()));
        }
        long d = x.size(-1);
        if (weight.rank() != 1 || weight.size(0) != d) {
            throw new TensorOpException(op, "weight must have shape [" + d + "] to match x " + Shapes.str(x.shape())
                    + ", got " + Shapes.str(weight.shape()));
        }
        if (bias != null && (bias.rank() != 1 || bias.size(0) != d)) {
            throw new TensorOpException(op, "bias must have shape [" + d + "] to match x " + Shapes.str(x.shape())
                    + ", got " + Shapes.str(bias.shape()));
        }
        return d;
    }
}
