package dev.panomni.parallel.comm;

/**
 * A collective could not complete: a rank failed, timed out, or passed arguments that disagree
 * with the other ranks'. Every rank of the group sees it, with the rank that caused it named.
 */
public final class CollectiveException extends RuntimeException {
    private final int failedRank;

    public CollectiveException(String message, int failedRank, Throwable cause) {
        super(message, cause);
        this.failedRank = failedRank;
    }

    /** The rank whose failure ended the collective, or -1 when unknown. */
    public int failedRank() {
        return failedRank;
    }
}
