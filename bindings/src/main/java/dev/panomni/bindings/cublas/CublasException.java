package dev.panomni.bindings.cublas;

/**
 * A cuBLASLt call returned an error; the message names the call and gives cuBLASLt's own name and text for the status
 * ({@code cublasLtGetStatusName}, {@code cublasLtGetStatusString}).
 */
public final class CublasException extends RuntimeException {
    private final int status;
    private final String statusName;
    private final String call;

    public CublasException(String call, int status, String statusName, String description) {
        super(call + " failed: " + statusName + " (" + status + "): " + description);
        this.status = status;
        this.statusName = statusName;
        this.call = call;
    }

    /** The {@code cublasStatus_t} (see {@link cublasStatus_t}). */
    public int status() {
        return status;
    }

    public String statusName() {
        return statusName;
    }

    public String call() {
        return call;
    }
}
