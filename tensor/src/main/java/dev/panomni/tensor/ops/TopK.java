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
 * The k largest entries along a dim (mixture-of-experts routing, top-k sampling), with their
 * positions. Backward scatters the values' gradient back to those positions.
 */
public final class TopK {
    private TopK() {
    }

    /**
     * The result of {@link #topk}.
     *
     * @param values  the k largest entries along the dim, largest first, in the input's dtype
     * @param indices their positions along the dim, I64, same shape as values
     */
    public record Result(Tensor values, Tensor indices) {
    }

    /**
     * The {@code k} largest entries of {@code t} along {@code dim}, sorted largest first; equal values
     * come in ascending index order, and NaN ranks above every number. For {@code t [a, n, b]} and
     * dim 1 both outputs are {@code [a, k, b]}. {@code t} must be floating and {@code 0 <= k <= n}.
     * Only {@code values} carries a gradient: backward adds it into zeros of t's shape at
     * {@code indices}; {@code indices} never requires grad.
     */
    public static Result topk(Tensor t, int k, int dim) {
        String op = "topk";
        t.checkLive();
        OpChecks.floating(op, t);
        if (t.rank() == 0) {
            throw new TensorOpException(op, "needs a tensor of rank >= 1, got shape []");
        }
        int d = Shapes.dim(op, dim, t.rank());
        long[] shape = t.shape();
        if (k < 0 || k > shape[d]) {
            throw new TensorOpException(op, "k = " + k + " is out of range for dim " + d + " of shape " + Shapes.str(shape)
                    + " (allowed 0.." + shape[d] + ")");
        }
        if (shape[d] > Integer.MAX_VALUE) {
            throw new TensorOpException(op, "dim " + d + " of shape " + Shapes.str(shape) + " exceeds 2^31 - 1 entries");
        }
        long[] outShape = t.shape();
        outShape[d] = k;
        Tensor indices = Tensor.empty(DType.I64, t.device(), outShape);
        Tensor values = GradMode.noGrad(() -> {
            try (Scope s = Scope.open(op)) {
                Tensor w = Precision.widen(t);
                Tensor src = w.isContiguous() ? w : Views.contiguous(w);
                Tensor v = Tensor.empty(src.dtype(), t.device(), outShape);
                if (v.numel() > 0) {
                    src.backend().kernels(TopKKernels.class).topk(src, d, k, v, indices);
                }
                return s.keep(Layout.cast(v, t.dtype()));
            }
        });
        if (Autograd.needsRecord(t)) {
            // One-output record: indices are integers and must not join the graph.
            Autograd.record(new Node(op, t) {
                final Tensor savedIndices = save(indices);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor dt = Tensor.zeros(g[0].dtype(), g[0].device(), shape);
                    Indexing.scatterAddInto(dt, d, savedIndices, g[0]);
                    return new Tensor[] {dt};
                }
            }, values);
        }
        return new Result(values, indices);
    }
}
