package dev.panomni.parallel.comm.nccl;

import dev.panomni.parallel.comm.Work;

import java.util.concurrent.locks.LockSupport;

/**
 * A collective issued on an {@link NcclCommunicator}'s communication stream. {@link #await()} orders
 * it before the compute stream's next work without blocking the host; {@link #awaitHost()} blocks
 * until it has finished. Both throw the communicator's failure (a timeout, an asynchronous NCCL
 * error) as a {@link dev.panomni.parallel.comm.CollectiveException}.
 *
 * <p>A send or receive is held back and issued together with the other sends and receives queued
 * before it as one NCCL group, when it is awaited or the next collective is issued (as
 * {@code batch_isend_irecv} does in torch): a ring of sends and receives on one stream would
 * otherwise deadlock.
 */
final class NcclWork implements Work {
    private static final long SPIN_NANOS = 1_000_000;

    private final NcclCommunicator comm;
    private final String label;
    private volatile NcclCompletion completion;

    NcclWork(NcclCommunicator comm, String label, NcclCompletion completion) {
        this.comm = comm;
        this.label = label;
        this.completion = completion;
    }

    /** Binds a held-back send or receive to the group it was issued in. */
    void bind(NcclCompletion c) {
        completion = c;
    }

    boolean isIssued() {
        return completion != null;
    }

    String label() {
        return label;
    }

    @Override
    public void await() {
        NcclCompletion c = issued();
        comm.throwIfFailed(label);
        c.orderBefore(comm.cudaDevice().computeStream());
    }

    @Override
    public void awaitHost() {
        NcclCompletion c = issued();
        long start = System.nanoTime();
        long lastWatch = start;
        while (!c.poll()) {
            comm.throwIfFailed(label);
            long now = System.nanoTime();
            if (now - lastWatch > 10_000_000) {
                // Do the watchdog's job here too, so that a timeout ends this wait even without it.
                comm.watch(now);
                lastWatch = now;
            }
            if (now - start < SPIN_NANOS) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(20_000);
            }
        }
        comm.throwIfFailed(label);
    }

    @Override
    public boolean isDone() {
        NcclCompletion c = issued();
        return c.poll() || comm.hasFailed();
    }

    private NcclCompletion issued() {
        NcclCompletion c = completion;
        if (c == null) {
            comm.flushFor(this);
            c = completion;
        }
        if (c == null) {
            comm.throwIfFailed(label);
            throw new IllegalStateException(label + " was never issued");
        }
        return c;
    }

    @Override
    public String toString() {
        return "NcclWork[" + label + "]";
    }
}
