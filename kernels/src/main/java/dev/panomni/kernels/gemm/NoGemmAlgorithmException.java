package dev.panomni.kernels.gemm;

/** cuBLASLt's heuristic found no algorithm for a product (typically operands at an odd alignment). */
public final class NoGemmAlgorithmException extends RuntimeException {
    public NoGemmAlgorithmException(String message) {
        super(message);
    }
}
