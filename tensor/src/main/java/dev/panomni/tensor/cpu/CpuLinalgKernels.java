package dev.panomni.tensor.cpu;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.ops.LinalgKernels;

import java.lang.foreign.MemorySegment;

/**
 * CPU matrix multiply on {@link CpuSgemm}. A batch of large products runs one product at a time,
 * each spread over all cores; a batch of small ones runs whole products in parallel, each on one
 * core, so small batched matmuls (attention heads) do not pay a fork-join per product.
 */
final class CpuLinalgKernels implements LinalgKernels {
    /** Products below this many flops run on one core each when batched. */
    private static final long SMALL_PRODUCT_FLOPS = 1L << 24;

    @Override
    public void gemm(Tensor a, Tensor b, Tensor out, float alpha, float beta) {
        for (Tensor t : new Tensor[] {a, b, out}) {
            if (t.dtype() != DType.F32) {
                throw new TensorOpException("gemm", "the CPU kernel computes F32, got " + t.describe()
                        + " (Linalg widens BF16/F16 inputs before calling it)");
            }
            if (t.rank() != 3) {
                throw new TensorOpException("gemm", "expected [batch, rows, cols] operands, got " + t.describe());
            }
        }
        long[] as = a.shape();
        long[] bs = b.shape();
        long[] os = out.shape();
        if (as[0] != os[0] || bs[0] != os[0] || as[1] != os[1] || bs[2] != os[2] || as[2] != bs[1]) {
            throw new TensorOpException("gemm", "shapes do not chain: a " + Shapes.str(as) + " x b " + Shapes.str(bs)
                    + " -> out " + Shapes.str(os));
        }
        if (!out.isContiguous()) {
            throw new TensorOpException("gemm", "out must be contiguous, got strides " + Shapes.str(out.strides()));
        }
        int batch = Math.toIntExact(os[0]);
        int m = Math.toIntExact(os[1]);
        int n = Math.toIntExact(os[2]);
        int k = Math.toIntExact(as[2]);
        MemorySegment sa = a.storage().segment();
        MemorySegment sb = b.storage().segment();
        MemorySegment so = out.storage().segment();
        long[] ast = a.strides();
        long[] bst = b.strides();
        long outBatch = (long) m * n;
        long flops = 2L * m * n * k;
        if (batch > 1 && CpuParallel.threads() > 1 && flops < SMALL_PRODUCT_FLOPS) {
            long grain = Math.max(1, (1L << 22) / Math.max(1, flops));
            CpuParallel.forRange(batch, grain, (s, e) -> {
                for (long i = s; i < e; i++) {
                    one(m, n, k, alpha, sa, a.offset() + i * ast[0], ast, sb, b.offset() + i * bst[0], bst, beta,
                            so, out.offset() + i * outBatch, false);
                }
            });
            return;
        }
        for (int i = 0; i < batch; i++) {
            one(m, n, k, alpha, sa, a.offset() + i * ast[0], ast, sb, b.offset() + i * bst[0], bst, beta,
                    so, out.offset() + i * outBatch, true);
        }
    }

    private static void one(int m, int n, int k, float alpha, MemorySegment sa, long aOff, long[] ast,
                            MemorySegment sb, long bOff, long[] bst, float beta, MemorySegment so, long oOff,
                            boolean parallel) {
        CpuSgemm.multiply(m, n, k, alpha, new CpuSgemm.Matrix(sa, aOff, ast[1], ast[2]),
                new CpuSgemm.Matrix(sb, bOff, bst[1], bst[2]), beta, so, oOff, n, parallel);
    }
}
