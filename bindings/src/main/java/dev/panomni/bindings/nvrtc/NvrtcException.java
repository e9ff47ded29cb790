package dev.panomni.bindings.nvrtc;

/**
 * An NVRTC call returned an error; for compilation errors {@link #log()} holds the compiler's messages, which the
 * exception message includes.
 */
public final class NvrtcException extends RuntimeException {
    private final int status;
    private final String call;
    private final String log;

    public NvrtcException(String call, int status, String statusText, String log) {
        super(call + " failed: " + statusText + " (" + status + ")"
                + (log == null || log.isBlank() ? "" : "\n" + log.strip()));
        this.status = status;
        this.call = call;
        this.log = log == null ? "" : log;
    }

    /** The {@code nvrtcResult} (see {@link nvrtcResult}). */
    public int status() {
        return status;
    }

    public String call() {
        return call;
    }

    /** The compile log (empty when the failure was not a compilation). */
    public String log() {
        return log;
    }
}
