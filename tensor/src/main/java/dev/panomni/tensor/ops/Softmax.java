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
 * Softmax and log-softmax along one dim, numerically stable (the row maximum is subtracted before
 * exponentiating, so large logits stay finite), forward and backward side by side. Results are
 * contiguous, of the input's shape and dtype. The kernels work on the last dim; another dim is
 * moved there with a transposed copy (and the result moved back).
 */
public final class Softmax {
    private Softmax() {
    }

    static SoftmaxKernels kernels(Tensor t) {
        return t.backend().kernels(SoftmaxKernels.class);
    }

    /** {@code exp(x_i) / sum_j exp(x_j)} along {@code dim}. */
    public static Tensor softmax(Tensor t, int dim) {
        return apply("softmax", t, dim, false);
    }

    /** {@code x_i - log(sum_j exp(x_j))} along {@code dim}. */
    public static Tensor logSoftmax(Tensor t, int dim) {
        return apply("logSoftmax", t, dim, true);
    }

    private static Tensor apply(String op, Tensor t, int dim, boolean log) {
        t.checkLive();
        OpChecks.floating(op, t);
        long[] shape = t.shape();
        int r = shape.length;
        if (r == 0 ? dim != 0 && dim != -1 : dim < -r || dim >= r) {
            throw new TensorOpException(op, "dim " + dim + " is out of range for shape " + Shapes.str(shape)
                    + " (allowed: " + -Math.max(r, 1) + ".." + (Math.max(r, 1) - 1) + ")");
        }
        int d = r == 0 ? 0 : (dim < 0 ? dim + r : dim);
        boolean moved = r > 0 && d != r - 1;
        DType dtype = t.dtype();
        // ym: the result with dim last (the layout the kernels use), kept for backward.
        Tensor ym = GradMode.noGrad(() -> {
            Tensor xm = moved ? Views.transpose(t, d, -1) : t;
            Tensor out = Precision.compute(t.backend(), dtype, xm.shape(), (wx, o) -> {
                try (Scope s = Scope.open(op)) {
                    kernels(o).forward(Views.contiguous(wx), log, o);
                }
            }, xm);
            if (moved) {
                xm.close();
            }
            return out;
        });
        Tensor y = ym;
        if (moved) {
            y = GradMode.noGrad(() -> {
                try (Scope s = Scope.open(op)) {
                    return s.keep(Views.contiguous(Views.transpose(ym, d, -1)));
                }
            });
        }
        if (Autograd.needsRecord(t)) {
            Autograd.record(new Node(op, t) {
                final Tensor saved = save(ym);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor go = g[0].dtype() == dtype ? g[0] : Layout.cast(g[0], dtype);
                    Tensor gm = moved ? Views.transpose(go, d, -1) : go;
                    Tensor gi = Precision.compute(saved.backend(), dtype, saved.shape(), (ws, wg, o) -> {
                        try (Scope s = Scope.open(op + "Backward")) {
                            kernels(o).backward(Views.contiguous(ws), Views.contiguous(wg), log, o);
                        }
                    }, saved, gm);
                    return new Tensor[] {moved ? Views.contiguous(Views.transpose(gi, d, -1)) : gi};
                }
            }, y);
        }
        if (moved) {
            ym.close();
        }
        return y;
    }
}
