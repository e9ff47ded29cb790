package dev.panomni.kernels;

import dev.panomni.kernels.launch.ArithLaunchers;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.ArithKernels;
import dev.panomni.tensor.ops.Views;

/**
 * CUDA broadcasting arithmetic: one kernel over any strides and dtypes (floats computed in fp32),
 * with a 16-byte-access path for contiguous float operands of one shape, or with the second one
 * holding one value per row (a per-token scale). Integer division by zero
 * yields 0 here, where the CPU throws.
 */
public final class CudaArithKernels implements ArithKernels {
    private static final CudaReductionKernels REDUCTIONS = new CudaReductionKernels();

    CudaArithKernels() {
    }

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        CudaStream s = CudaTensors.device(out).computeStream();
        if (ArithLaunchers.binaryContiguous(s, op, a, b, out)) {
            return;
        }
        // A commutative op with the broadcast operand first runs as b op a.
        if ((op == BinaryOp.ADD || op == BinaryOp.MUL) && ArithLaunchers.binaryContiguous(s, op, b, a, out)) {
            return;
        }
        ArithLaunchers.binaryStrided(s, op, a, b, out);
    }

    @Override
    public void affine(Tensor a, double scale, double shift, Tensor out) {
        ArithLaunchers.affine(CudaTensors.device(out).computeStream(), a, scale, shift, out);
    }

    /**
     * Contiguous float operands go through the reduction kernels (a block per output row when the
     * innermost dim is summed, coalesced columns when it is kept; fp64 sums either way), which read
     * at memory speed where sum_to's thread per destination walks rows apart.
     */
    @Override
    public void sumTo(Tensor src, Tensor dst) {
        if (src.dtype().isFloating() && src.dtype() == dst.dtype() && src.isContiguous() && dst.isContiguous()
                && dst.numel() > 0 && dst.rank() <= src.rank()) {
            int r = src.rank();
            int pad = r - dst.rank();
            long[] kept = new long[r];
            boolean[] reduce = new boolean[r];
            for (int d = 0; d < r; d++) {
                kept[d] = d < pad ? 1 : dst.size(d - pad);
                reduce[d] = kept[d] == 1 && src.size(d) != 1;
            }
            REDUCTIONS.sum(src, reduce, 1.0, Views.view(dst, kept));
            return;
        }
        ArithLaunchers.sumTo(CudaTensors.device(dst).computeStream(), src, dst);
    }
}
