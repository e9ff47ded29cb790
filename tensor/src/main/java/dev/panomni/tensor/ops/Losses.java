package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;
import dev.panomni.tensor.ops.LossKernels.TargetCheck;

import java.util.Arrays;

/**
 * Loss functions, forward and backward side by side.
 *
 * <p>Cross-entropy is fused: one kernel pass per row computes the row's log-sum-exp and its loss,
 * without materializing a log-softmax tensor; the backward is one pass that writes
 * {@code (softmax(logits) - onehot(target)) * upstream * scale}, from the logits and the saved
 * per-row log-sum-exp.
 */
public final class Losses {
    /** The conventional ignore index (PyTorch's and Hugging Face's label padding value). */
    public static final long DEFAULT_IGNORE_INDEX = -100;

    private Losses() {
    }

    static LossKernels kernels(Tensor t) {
        return t.backend().kernels(LossKernels.class);
    }

    /** {@link #crossEntropy(Tensor, Tensor, long, Reduction)} with ignore index -100 and the mean. */
    public static Tensor crossEntropy(Tensor logits, Tensor targets) {
        return crossEntropy(logits, targets, DEFAULT_IGNORE_INDEX, Reduction.MEAN);
    }

    /**
     * Cross-entropy of {@code logits} against class indices, as a 0-dim tensor of the logits' dtype
     * (computed in F32 where the backend does not compute that dtype natively).
     *
     * <p>Per row: {@code loss = log(sum_c exp(logits[c])) - logits[target]}. Rows whose target equals
     * {@code ignoreIndex} contribute no loss and get a zero gradient. {@link Reduction#SUM} adds the
     * rows' losses; {@link Reduction#MEAN} divides that sum by the number of rows that are not
     * ignored, and is 0 (with a zero gradient), not NaN, when every row is ignored.
     *
     * <p>The mean's divisor and the range check need the targets on the host: on a device backend
     * this call synchronizes once.
     *
     * @param logits  [N, C], or [B, S, C] (flattened to [B*S, C]); floating
     * @param targets [N] (or [B, S]), I64 or I32, each in [0, C) or equal to {@code ignoreIndex}
     * @throws TensorOpException for other shapes or dtypes, and for a target out of range, naming its
     *                           value and position
     */
    public static Tensor crossEntropy(Tensor logits, Tensor targets, long ignoreIndex, Reduction reduction) {
        String op = "crossEntropy";
        logits.checkLive();
        targets.checkLive();
        OpChecks.sameDevice(op, logits, targets);
        if (reduction == null) {
            throw new TensorOpException(op, "reduction must be MEAN or SUM, got null");
        }
        if (!logits.dtype().isFloating()) {
            throw new TensorOpException(op, "logits must be floating (F32, BF16, F16), got " + logits.describe());
        }
        if (targets.dtype() != DType.I64 && targets.dtype() != DType.I32) {
            throw new TensorOpException(op, "targets must be I64 or I32 class indices, got " + targets.describe());
        }
        long[] ls = logits.shape();
        long[] ts = targets.shape();
        boolean shapesOk = (ls.length == 2 || ls.length == 3) && ts.length == ls.length - 1
                && Arrays.equals(Arrays.copyOf(ls, ts.length), ts);
        if (!shapesOk) {
            throw new TensorOpException(op, "logits [N, C] need targets [N], and logits [B, S, C] targets [B, S]; got logits "
                    + Shapes.str(ls) + " and targets " + Shapes.str(ts));
        }
        long classes = ls[ls.length - 1];
        if (classes == 0) {
            throw new TensorOpException(op, "logits " + Shapes.str(ls) + " have no classes");
        }
        Tensor rows = ls.length == 3 ? Views.reshape(logits, -1, classes) : logits;
        Tensor flatTargets = ts.length == 2 ? GradMode.noGrad(() -> Views.reshape(targets, -1)) : targets;
        return crossEntropyRows(op, rows, flatTargets, ignoreIndex, reduction, ls, ts);
    }

    private static Tensor crossEntropyRows(String op, Tensor logits, Tensor targets, long ignoreIndex,
                                           Reduction reduction, long[] logitsShape, long[] targetsShape) {
        long classes = logits.size(1);
        DType dtype = logits.dtype();
        LossKernels k = kernels(logits);
        boolean record = Autograd.needsRecord(logits);
        double scale;
        Tensor loss;
        Tensor savedLogits = null;
        Tensor savedTargets = null;
        Tensor rowLse = null;
        try (Scope s = Scope.open(op)) {
            Tensor tg = Views.contiguous(targets);
            TargetCheck check = k.checkTargets(tg, classes, ignoreIndex);
            if (check.firstInvalid() >= 0) {
                long bad = tg.narrow(0, check.firstInvalid(), 1).toLongArray()[0];
                throw new TensorOpException(op, "target " + bad + " at position "
                        + Arrays.toString(unravel(check.firstInvalid(), targetsShape)) + " is out of range for "
                        + classes + " classes (allowed: 0.." + (classes - 1) + ", or the ignore index " + ignoreIndex
                        + "); logits " + Shapes.str(logitsShape) + ", targets " + Shapes.str(targetsShape));
            }
            // MEAN over zero counted rows: every row loss is 0, so scale 0 makes the loss 0, not 0/0.
            scale = reduction == Reduction.SUM ? 1.0 : check.counted() == 0 ? 0.0 : 1.0 / check.counted();
            Tensor lc = GradMode.noGrad(() -> Views.contiguous(logits));
            Tensor[] lossAndLse = GradMode.noGrad(() -> {
                Tensor lw = Precision.widen(lc);
                long n = lw.size(0);
                Tensor rowLoss = Tensor.empty(DType.F32, lw.device(), n);
                Tensor lse = record ? Tensor.empty(DType.F32, lw.device(), n) : null;
                k.crossEntropyForward(lw, tg, ignoreIndex, rowLoss, lse);
                Tensor total = Reductions.sumAll(rowLoss);
                if (scale != 1.0) {
                    total = Arith.mulScalar(total, scale);
                }
                return new Tensor[] {Layout.cast(total, dtype), lse};
            });
            loss = s.keep(lossAndLse[0]);
            if (record) {
                savedLogits = s.keep(lc);
                savedTargets = s.keep(tg);
                rowLse = s.keep(lossAndLse[1]);
            }
        }
        if (record) {
            double gradScale = scale;
            Tensor l0 = savedLogits;
            Tensor t0 = savedTargets;
            Tensor e0 = rowLse;
            Autograd.record(new Node(op, logits) {
                final Tensor x = save(l0);
                final Tensor t = save(t0);
                final Tensor lse = save(e0);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor lw = Precision.widen(x);
                    Tensor upstream = Precision.widen(g[0].dtype() == dtype ? g[0] : Layout.cast(g[0], dtype));
                    // A widened copy of the logits is ours to overwrite with the gradient.
                    Tensor grad = lw.dtype() != x.dtype() ? lw : Tensor.empty(lw.dtype(), lw.device(), lw.shape());
                    kernels(lw).crossEntropyBackward(lw, t, ignoreIndex, lse, Views.contiguous(upstream), gradScale, grad);
                    return new Tensor[] {Layout.cast(grad, dtype)};
                }
            }, loss);
            l0.close();
            t0.close();
            e0.close();
        }
        return loss;
    }

    /** Row-major multi-index of {@code linear} in {@code shape}. */
    private static long[] unravel(long linear, long[] shape) {
        long[] idx = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = linear % shape[d];
            linear /= shape[d];
        }
        return idx;
    }
}
