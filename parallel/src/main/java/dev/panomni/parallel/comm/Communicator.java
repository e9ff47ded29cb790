package dev.panomni.parallel.comm;

import dev.panomni.tensor.Tensor;

/**
 * Collective communication among the ranks of a group. Every rank calls the same collectives in
 * the same order; each call returns at once with a {@link Work}, and collectives of one
 * communicator complete in the order they were issued.
 *
 * <p>Buffers: tensors are contiguous and live on the backend's device (host tensors for the
 * in-process backend, the rank's GPU for NCCL). They must not be touched until the work completes.
 * Shapes below use {@code n} for the group size.
 */
public interface Communicator extends AutoCloseable {
    /** This rank's index in the group, 0 .. size-1. */
    int rank();

    /** Number of ranks in the group. */
    int size();

    /** Reduces {@code t} over all ranks, in place on every rank. */
    Work allReduce(Tensor t, ReduceOp op);

    /** {@code output} [n * m, ...] receives every rank's {@code input} [m, ...] in rank order. */
    Work allGather(Tensor input, Tensor output);

    /** Reduces {@code input} [n * m, ...] over ranks; rank r receives rows [r*m, (r+1)*m) in {@code output} [m, ...]. */
    Work reduceScatter(Tensor input, Tensor output, ReduceOp op);

    /**
     * Exchanges rows along dim 0: this rank sends rows [sum(sendCounts[..j]), +sendCounts[j]) of
     * {@code input} to rank j, and receives recvCounts[j] rows from rank j into {@code output}, in
     * rank order. Counts may differ per rank (uneven splits); each rank's recvCounts[j] must equal
     * rank j's sendCounts[this rank].
     */
    Work allToAll(Tensor input, long[] sendCounts, Tensor output, long[] recvCounts);

    /** Copies root's {@code t} into every other rank's {@code t}. */
    Work broadcast(Tensor t, int root);

    /** Sends {@code t} to {@code peer}, which must post a matching {@link #recv}. */
    Work send(Tensor t, int peer);

    /** Receives into {@code t} from {@code peer}. */
    Work recv(Tensor t, int peer);

    /** Returns when every rank has reached the barrier. */
    void barrier();

    /**
     * A communicator over a subset of this group's ranks (every member calls it with the same
     * {@code ranks}, in the same order relative to other collectives); this rank must be a member.
     */
    Communicator subGroup(int[] ranks);

    /** Releases the communicator's resources. */
    @Override
    void close();
}
