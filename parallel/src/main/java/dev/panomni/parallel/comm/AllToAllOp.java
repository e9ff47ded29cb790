package dev.panomni.parallel.comm;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;

/**
 * The all-to-all as an autograd op: rows along dim 0 go to other ranks, and the gradient comes back
 * by the reverse all-to-all (send and receive counts swapped). Expert parallelism moves tokens to
 * their experts' ranks with it; Ulysses moves between sequence- and head-sharded layouts.
 */
public final class AllToAllOp {
    private AllToAllOp() {
    }

    /**
     * @param comm       the group (every member calls this in the same order)
     * @param x          [sum(sendCounts), ...] rows grouped by destination rank
     * @param sendCounts rows for each rank
     * @param recvCounts rows from each rank (each must equal that rank's sendCounts[this rank])
     * @return [sum(recvCounts), ...] rows grouped by source rank, in rank order
     */
    public static Tensor apply(Communicator comm, Tensor x, long[] sendCounts, long[] recvCounts) {
        return recorded(comm, x, exchange(comm, x, sendCounts, recvCounts), sendCounts, recvCounts);
    }

    /**
     * The all-to-all of {@code x} whose result is already known, {@code received}, from an earlier
     * identical exchange (the first run of a recomputed block): no communication now, but the backward
     * still returns the gradient by the reverse all-to-all. Arguments as in {@link #apply}.
     *
     * @return a handle on {@code received}, recorded as the all-to-all of {@code x}
     */
    public static Tensor replayed(Communicator comm, Tensor x, Tensor received, long[] sendCounts, long[] recvCounts) {
        return recorded(comm, x, received.alias(), sendCounts, recvCounts);
    }

    private static Tensor recorded(Communicator comm, Tensor x, Tensor out, long[] sendCounts, long[] recvCounts) {
        if (Autograd.needsRecord(x)) {
            long[] send = sendCounts.clone();
            long[] recv = recvCounts.clone();
            Autograd.record(new Node("allToAll", x) {
                @Override
                protected Tensor[] backward(Tensor[] g) {
                    return new Tensor[] {exchange(comm, g[0], recv, send)};
                }
            }, out);
        }
        return out;
    }

    /** Equal splits: {@code x} [n * m, ...] sends m rows to each rank and receives m from each. */
    public static Tensor apply(Communicator comm, Tensor x) {
        int n = comm.size();
        if (x.rank() < 1 || x.size(0) % n != 0) {
            throw new IllegalArgumentException("allToAll: " + x.describe() + " must have a multiple of " + n
                    + " rows to split evenly");
        }
        long[] counts = new long[n];
        java.util.Arrays.fill(counts, x.size(0) / n);
        return apply(comm, x, counts, counts);
    }

    private static Tensor exchange(Communicator comm, Tensor x, long[] send, long[] recv) {
        long rows = 0;
        for (long r : recv) {
            rows += r;
        }
        long[] shape = x.shape();
        shape[0] = rows;
        Tensor out = Tensor.empty(x.dtype(), x.device(), shape);
        try (Scope s = Scope.open("allToAll")) {
            Tensor in = GradMode.noGrad(() -> x.contiguous());
            comm.allToAll(in, send, out, recv).await();
        }
        return out;
    }
}
