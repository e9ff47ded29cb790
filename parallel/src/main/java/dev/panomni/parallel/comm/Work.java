package dev.panomni.parallel.comm;

/**
 * A collective in flight. Host backends complete it on a worker thread; device backends order it on
 * a communication stream, and {@link #await()} makes the caller's compute stream wait for it.
 */
public interface Work {
    /** Blocks until the collective has finished (or throws the error that ended it). */
    void await();

    /** Whether it has finished, successfully or not. */
    boolean isDone();
}
