package dev.panomni.tensor.ops;

import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.Node;

/**
 * The grouped GEMM of mixture-of-experts layers: rows sorted by expert, each run of rows multiplied
 * by that expert's weight matrix, in one call. Forward and backward side by side.
 */
public final class GroupedGemm {
    private GroupedGemm() {
    }

    static GroupedGemmKernels kernels(Tensor t) {
        return t.backend().kernels(GroupedGemmKernels.class);
    }

    /**
     * @param x       [M, K] rows sorted by group
     * @param w       [G, N, K] one matrix per group (Linear layout: out x in)
     * @param offsets G + 1 row offsets: group g is rows [offsets[g], offsets[g+1]); offsets[G] = M.
     *                Host values: the routing that produced them already ran.
     * @return [M, N]
     */
    public static Tensor matmul(Tensor x, Tensor w, long[] offsets) {
        String op = "groupedMatmul";
        OpChecks.sameDeviceAndDtype(op, x, w);
        OpChecks.floating(op, x);
        if (x.rank() != 2 || w.rank() != 3) {
            throw new TensorOpException(op, "expected x [M, K] and w [G, N, K], got x " + Shapes.str(x.shape())
                    + " and w " + Shapes.str(w.shape()));
        }
        long m = x.size(0);
        long kd = x.size(1);
        long g = w.size(0);
        long n = w.size(1);
        if (w.size(2) != kd) {
            throw new TensorOpException(op, "inner dims differ: x " + Shapes.str(x.shape()) + " and w " + Shapes.str(w.shape()));
        }
        if (offsets.length != g + 1 || offsets[0] != 0 || offsets[(int) g] != m) {
            throw new TensorOpException(op, "offsets must have G+1 = " + (g + 1) + " entries from 0 to M = " + m
                    + ", got " + java.util.Arrays.toString(offsets));
        }
        for (int i = 0; i < g; i++) {
            if (offsets[i + 1] < offsets[i]) {
                throw new TensorOpException(op, "offsets must not decrease, got " + java.util.Arrays.toString(offsets));
            }
        }
        long[] offs = offsets.clone();
        Tensor out = Precision.compute(x.backend(), x.dtype(), new long[] {m, n},
                (a, b, o) -> kernels(o).forward(Views.contiguous(a), Views.contiguous(b), offs, o), x, w);
        if (Autograd.needsRecord(x, w)) {
            Autograd.record(new Node(op, x, w) {
                final Tensor sx = needsGrad(1) ? save(x) : null;
                final Tensor sw = needsGrad(0) ? save(w) : null;

                @Override
                protected Tensor[] backward(Tensor[] gr) {
                    Tensor dy = gr[0];
                    Tensor dx = null;
                    Tensor dw = null;
                    if (needsGrad(0)) {
                        dx = Precision.compute(dy.backend(), dy.dtype(), new long[] {m, kd},
                                (a, b, o) -> kernels(o).backwardInput(Views.contiguous(a), Views.contiguous(b), offs, o), dy, sw);
                    }
                    if (needsGrad(1)) {
                        dw = Precision.compute(dy.backend(), dy.dtype(), new long[] {g, n, kd},
                                (a, b, o) -> kernels(o).backwardWeight(Views.contiguous(a), Views.contiguous(b), offs, o), dy, sx);
                    }
                    return new Tensor[] {dx, dw};
                }
            }, out);
        }
        return out;
    }
}
