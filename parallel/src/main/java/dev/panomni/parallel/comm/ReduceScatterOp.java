package dev.panomni.parallel.comm;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;

/**
 * The reduce-scatter (sum) as an autograd op: rank r receives the sum over ranks of their row block
 * r; every rank's block r contributed to it, so the backward is an {@link AllGatherOp}'s forward.
 * Expert parallelism by all-gather returns each token's partial expert sums to its rank with it.
 */
public final class ReduceScatterOp {
    private ReduceScatterOp() {
    }

    /**
     * @param comm the group (every member calls this in the same order, with the same shape)
     * @param x    [n * m, ...] this rank's contribution to every rank's block
     * @return [m, ...] the sum over ranks of their block for this rank
     */
    public static Tensor apply(Communicator comm, Tensor x) {
        return recorded(comm, x, scatter(comm, x));
    }

    /**
     * The reduce-scatter of {@code x} whose result is already known, {@code reduced}, from an earlier
     * identical exchange (the first run of a recomputed block): no communication now, but the backward
     * still all-gathers the gradient.
     */
    public static Tensor replayed(Communicator comm, Tensor x, Tensor reduced) {
        return recorded(comm, x, reduced.alias());
    }

    private static Tensor recorded(Communicator comm, Tensor x, Tensor out) {
        if (Autograd.needsRecord(x)) {
            Autograd.record(new Node("reduceScatter", x) {
                @Override
                protected Tensor[] backward(Tensor[] g) {
                    return new Tensor[] {AllGatherOp.gather(comm, g[0])};
                }
            }, out);
        }
        return out;
    }

    /** The sum over ranks of block {@code rank} of {@code x} [n * m, ...] (no autograd). */
    static Tensor scatter(Communicator comm, Tensor x) {
        int n = comm.size();
        if (x.rank() < 1 || x.size(0) % n != 0) {
            throw new IllegalArgumentException("reduceScatter: " + x.describe() + " must have a multiple of " + n
                    + " rows, one block per rank");
        }
        long[] shape = x.shape();
        shape[0] /= n;
        Tensor out = Tensor.empty(x.dtype(), x.device(), shape);
        try (Scope s = Scope.open("reduceScatter")) {
            Tensor in = GradMode.noGrad(() -> x.contiguous());
            comm.reduceScatter(in, out, ReduceOp.SUM).await();
        }
        return out;
    }
}
