package dev.panomni.parallel.comm;

/**
 * A collective in flight. Host backends complete it on a worker thread; device backends order it on
 * a communication stream.
 */
public interface Work {
    /**
     * Makes the collective's results usable by what this rank does next, or throws the error that
     * ended it. Host backends block until it has finished. Device backends (NCCL) order it on the
     * device instead: the compute stream waits for the collective without blocking the host, so
     * kernels queued afterwards, and copies to the host, see the results.
     */
    void await();

    /**
     * Blocks the calling thread until the collective has finished on the device too (host backends:
     * the same as {@link #await()}), or throws the error or timeout that ended it.
     */
    default void awaitHost() {
        await();
    }

    /** Whether it has finished, successfully or not. */
    boolean isDone();
}
