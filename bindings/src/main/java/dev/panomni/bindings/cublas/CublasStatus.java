package dev.panomni.bindings.cublas;

import dev.panomni.bindings.CStrings;

/** Turns {@code cublasStatus_t} codes into {@link CublasException}s. */
public final class CublasStatus {
    private CublasStatus() {}

    /** Throws {@link CublasException} unless {@code status} is {@code CUBLAS_STATUS_SUCCESS}. */
    public static void check(int status, String call) {
        if (status != cublasStatus_t.CUBLAS_STATUS_SUCCESS) {
            throw exception(status, call);
        }
    }

    public static CublasException exception(int status, String call) {
        String name = null;
        String text = null;
        try {
            name = CStrings.read(CublasLt.cublasLtGetStatusName(status));
            text = CStrings.read(CublasLt.cublasLtGetStatusString(status));
        } catch (RuntimeException e) {
            // keep the generated table's name
        }
        if (name == null) {
            name = cublasStatus_t.nameOf(status) != null ? cublasStatus_t.nameOf(status) : "unknown cublasStatus_t";
        }
        return new CublasException(call, status, name, text != null ? text : "(no description from cuBLASLt)");
    }
}
