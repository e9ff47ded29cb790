package dev.panomni.kernels.gemm;

/**
 * One cuBLASLt matrix product in cuBLAS's column-major terms, {@code D = alpha op(A) op(B) + beta C
 * (+ bias)} with C and D sharing one layout: the key under which the chosen algorithm is cached.
 *
 * @param dataType  cudaDataType of A and B ({@code CUDA_R_16BF}, {@code CUDA_R_16F}, {@code CUDA_R_32F})
 * @param outputType cudaDataType of C and D: {@code dataType}, or {@code CUDA_R_32F} for 16-bit
 *                  operands whose fp32 accumulators are kept unrounded
 * @param computeType cublasComputeType_t ({@code CUBLAS_COMPUTE_32F} or its TF32 variant)
 * @param transA    cublasOperation_t of A
 * @param transB    cublasOperation_t of B
 * @param m         rows of D
 * @param n         columns of D
 * @param k         the inner dimension
 * @param lda       leading dimension of A as stored (rows of its stored column-major form)
 * @param ldb       leading dimension of B as stored
 * @param ldc       leading dimension of C and D
 * @param batch     number of products (1: not batched)
 * @param strideA   elements between consecutive A matrices (0: one A for all)
 * @param strideB   elements between consecutive B matrices (0: one B for all)
 * @param strideC   elements between consecutive C/D matrices
 * @param bias      whether a bias vector of length m is added to every column of D
 * @param alignA    byte alignment of A's address (a power of two, at most 256)
 * @param alignB    byte alignment of B's address
 * @param alignC    byte alignment of C's and D's addresses
 */
public record GemmShape(int dataType, int outputType, int computeType, int transA, int transB, long m, long n, long k, long lda,
                        long ldb, long ldc, int batch, long strideA, long strideB, long strideC, boolean bias,
                        int alignA, int alignB, int alignC) {

    /** The largest power of two (capped at 256) that divides {@code address}: what cuBLASLt's alignment preferences ask. */
    public static int alignmentOf(long address) {
        if (address == 0) {
            return 256;
        }
        return (int) Math.min(256, Long.lowestOneBit(address));
    }

    /** Bytes of D (and C) as laid out: batch matrices strideC apart, each ldc x n. */
    long outputBytes() {
        int element = outputType == dev.panomni.bindings.cublas.cudaDataType.CUDA_R_32F ? 4 : 2;
        return element * ((long) (batch - 1) * strideC + ldc * n);
    }

    /** Rows of A as stored (column-major): m when A is not transposed, k when it is. */
    long rowsA() {
        return transA == 0 ? m : k;
    }

    long colsA() {
        return transA == 0 ? k : m;
    }

    long rowsB() {
        return transB == 0 ? k : n;
    }

    long colsB() {
        return transB == 0 ? n : k;
    }
}
