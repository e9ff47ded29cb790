package dev.panomni.bindings.nccl;

/**
 * An NCCL call returned an error. The message names the call and gives {@code ncclGetErrorString} for the status
 * and, when NCCL has one, {@code ncclGetLastError}'s description of what went wrong.
 */
public final class NcclException extends RuntimeException {
    private final int status;
    private final String call;
    private final String lastError;

    public NcclException(String call, int status, String statusName, String description, String lastError) {
        super(call + " failed: " + statusName + " (" + status + "): " + description
                + (lastError == null || lastError.isBlank() ? "" : "; last error: " + lastError.strip()));
        this.status = status;
        this.call = call;
        this.lastError = lastError == null ? "" : lastError;
    }

    /** The {@code ncclResult_t} (see {@link ncclResult_t}). */
    public int status() {
        return status;
    }

    public String call() {
        return call;
    }

    /** {@code ncclGetLastError}'s text, empty when NCCL had none. */
    public String lastError() {
        return lastError;
    }
}
