package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;

/**
 * Matrix-multiply kernels: one strided-batched GEMM, the shape of cuBLAS's
 * {@code cublasGemmStridedBatchedEx} and of a CPU loop over blocks alike.
 *
 * <p>There are no transpose flags: an operand's layout is read from its strides. Each matrix of
 * {@code a} and {@code b} is either row-major (stride 1 along its last dim, the other stride at
 * least the last extent) or column-major, which is what a transposed view such as {@code w.t()} is
 * (stride 1 along dim 1, the last dim's stride at least dim 1's extent). A CUDA backend maps
 * column-major to {@code CUBLAS_OP_T} with the other stride as the leading dimension. The front end
 * ({@link Linalg}) only passes operands of these two forms and copies anything else; strides of
 * size-1 dims are set so that one of the forms holds.
 */
public interface LinalgKernels {
    /**
     * For every batch index i: {@code out[i] = alpha * a[i] @ b[i] + beta * out[i]}. All three
     * tensors have one dtype that the backend computes natively (F32 on the CPU) and live on this
     * backend's device. Results must not depend on the number of threads.
     *
     * @param a     [batch, M, K]; its batch stride is arbitrary, 0 repeats one matrix for every i
     * @param b     [batch, K, N]; batch stride as for {@code a}
     * @param out   [batch, M, N], contiguous, not overlapping {@code a} or {@code b}; with
     *              {@code beta == 0} its prior contents are ignored (NaN included)
     * @param alpha scale of the product
     * @param beta  scale of the prior {@code out}
     */
    void gemm(Tensor a, Tensor b, Tensor out, float alpha, float beta);

    /**
     * Whether {@link #gemm} also takes an F32 {@code out} for {@code operands}-typed {@code a} and
     * {@code b} (16-bit products accumulated and stored in fp32, never rounded to 16 bits), as
     * cuBLASLt does. The contract of {@link #gemm} is otherwise unchanged.
     */
    default boolean storesF32(DType operands) {
        return operands == DType.F32;
    }
}
