package dev.panomni.parallel.comm;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;

/**
 * The all-gather as an autograd op: every rank's rows along dim 0, in rank order; the gradient of a
 * rank's rows is the sum over ranks of theirs, so the backward is a {@link ReduceScatterOp}'s forward
 * (sum). Expert parallelism by all-gather moves every token to every expert rank with it.
 */
public final class AllGatherOp {
    private AllGatherOp() {
    }

    /**
     * @param comm the group (every member calls this in the same order, with the same shape)
     * @param x    [m, ...] this rank's rows
     * @return [n * m, ...] every rank's rows, in rank order
     */
    public static Tensor apply(Communicator comm, Tensor x) {
        return recorded(comm, x, gather(comm, x));
    }

    /**
     * The all-gather of {@code x} whose result is already known, {@code gathered}, from an earlier
     * identical exchange (the first run of a recomputed block): no communication now, but the backward
     * still reduce-scatters the gradient.
     */
    public static Tensor replayed(Communicator comm, Tensor x, Tensor gathered) {
        return recorded(comm, x, gathered.alias());
    }

    private static Tensor recorded(Communicator comm, Tensor x, Tensor out) {
        if (Autograd.needsRecord(x)) {
            Autograd.record(new Node("allGather", x) {
                @Override
                protected Tensor[] backward(Tensor[] g) {
                    return new Tensor[] {ReduceScatterOp.scatter(comm, g[0])};
                }
            }, out);
        }
        return out;
    }

    /** {@code x} [m, ...] of every rank into [n * m, ...] (no autograd). */
    static Tensor gather(Communicator comm, Tensor x) {
        if (x.rank() < 1) {
            throw new IllegalArgumentException("allGather: " + x.describe() + " has no rows to gather");
        }
        long[] shape = x.shape();
        shape[0] *= comm.size();
        Tensor out = Tensor.empty(x.dtype(), x.device(), shape);
        try (Scope s = Scope.open("allGather")) {
            Tensor in = GradMode.noGrad(() -> x.contiguous());
            comm.allGather(in, out).await();
        }
        return out;
    }
}
