package dev.panomni.parallel.text;

import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.ReduceOp;
import dev.panomni.parallel.comm.Work;
import dev.panomni.tensor.Tensor;

import java.util.List;

/**
 * A communicator that records itself and every sub-group made from it (at any depth) in a shared
 * list, so that a test can abort every group of every rank when one rank fails: the mesh's groups
 * are made inside the rank's program, out of the test's reach otherwise. Everything else is
 * passed through unchanged.
 */
final class TrackingCommunicator implements Communicator {
    private final Communicator delegate;
    private final List<Communicator> registry;

    TrackingCommunicator(Communicator delegate, List<Communicator> registry) {
        this.delegate = delegate;
        this.registry = registry;
        registry.add(delegate);
    }

    @Override
    public int rank() {
        return delegate.rank();
    }

    @Override
    public int size() {
        return delegate.size();
    }

    @Override
    public Work allReduce(Tensor t, ReduceOp op) {
        return delegate.allReduce(t, op);
    }

    @Override
    public Work allGather(Tensor input, Tensor output) {
        return delegate.allGather(input, output);
    }

    @Override
    public Work reduceScatter(Tensor input, Tensor output, ReduceOp op) {
        return delegate.reduceScatter(input, output, op);
    }

    @Override
    public Work allToAll(Tensor input, long[] sendCounts, Tensor output, long[] recvCounts) {
        return delegate.allToAll(input, sendCounts, output, recvCounts);
    }

    @Override
    public Work broadcast(Tensor t, int root) {
        return delegate.broadcast(t, root);
    }

    @Override
    public Work send(Tensor t, int peer) {
        return delegate.send(t, peer);
    }

    @Override
    public Work recv(Tensor t, int peer) {
        return delegate.recv(t, peer);
    }

    @Override
    public void barrier() {
        delegate.barrier();
    }

    @Override
    public Communicator subGroup(int[] ranks) {
        return new TrackingCommunicator(delegate.subGroup(ranks), registry);
    }

    @Override
    public void close() {
        delegate.close();
    }

    @Override
    public String toString() {
        return delegate.toString();
    }
}
