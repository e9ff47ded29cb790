package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * The kernel of {@link GroupedRows#sum}. CPU version {@code CpuGroupedRowsKernels}, CUDA version
 * {@code CudaGroupedRowsKernels} ({@code kernels/cuda/grouped_rows.cu}).
 */
public interface GroupedRowsKernels {
    /**
     * {@code out[g] = sum over j of t[members[g, j]]} in list order, skipping members equal to
     * {@code t.size(0)}; accumulated in F32.
     *
     * @param t       [m, width] contiguous, a floating dtype the backend computes natively
     * @param members [groups, j] I64, contiguous, values in [0, m]
     * @param out     [groups, width] contiguous, t's dtype
     */
    void sum(Tensor t, Tensor members, Tensor out);
}
