package dev.panomni.parallel.comm;

import dev.panomni.tensor.Tensor;

/**
 * A communicator that passes every call to another: test decorators ({@link RecordingCommunicator},
 * the equivalence harness's tracking one) extend it and override only what they observe. Sub-groups
 * are the delegate's, undecorated, unless {@link #subGroup} is overridden.
 */
public abstract class ForwardingCommunicator implements Communicator {
    /** The communicator every call goes to. */
    protected final Communicator delegate;

    protected ForwardingCommunicator(Communicator delegate) {
        this.delegate = delegate;
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
        return delegate.subGroup(ranks);
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
