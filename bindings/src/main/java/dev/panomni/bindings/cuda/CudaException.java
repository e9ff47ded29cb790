package dev.panomni.bindings.cuda;

/**
 * A CUDA driver call returned an error. The message names the call and gives the driver's own name and text for the
 * status ({@code cuGetErrorName}, {@code cuGetErrorString}), e.g.
 * {@code cuMemAlloc failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory}.
 */
public final class CudaException extends RuntimeException {
    private final int status;
    private final String statusName;
    private final String call;

    public CudaException(String call, int status, String statusName, String description) {
        super(call + " failed: " + statusName + " (" + status + "): " + description);
        this.status = status;
        this.statusName = statusName;
        this.call = call;
    }

    /** The {@code CUresult} (see {@link CUresult}). */
    public int status() {
        return status;
    }

    /** The status's C name, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}. */
    public String statusName() {
        return statusName;
    }

    /** The driver function that failed. */
    public String call() {
        return call;
    }
}
