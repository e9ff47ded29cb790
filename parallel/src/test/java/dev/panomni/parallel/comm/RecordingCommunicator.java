package dev.panomni.parallel.comm;

import dev.panomni.tensor.Tensor;

import java.util.List;

/** A communicator that appends "op:elements" to a log each time a collective is issued (not completed). */
public final class RecordingCommunicator implements Communicator {
    private final Communicator inner;
    private final List<String> log;

    public RecordingCommunicator(Communicator inner, List<String> log) {
        this.inner = inner;
        this.log = log;
    }

    private void note(String op, long elements) {
        synchronized (log) {
            log.add(op + ":" + elements);
        }
    }

    @Override
    public int rank() {
        return inner.rank();
    }

    @Override
    public int size() {
        return inner.size();
    }

    @Override
    public Work allReduce(Tensor t, ReduceOp op) {
        note("allReduce", t.numel());
        return inner.allReduce(t, op);
    }

    @Override
    public Work allGather(Tensor input, Tensor output) {
        note("allGather", output.numel());
        return inner.allGather(input, output);
    }

    @Override
    public Work reduceScatter(Tensor input, Tensor output, ReduceOp op) {
        note("reduceScatter", input.numel());
        return inner.reduceScatter(input, output, op);
    }

    @Override
    public Work allToAll(Tensor input, long[] sendCounts, Tensor output, long[] recvCounts) {
        note("allToAll", input.numel());
        return inner.allToAll(input, sendCounts, output, recvCounts);
    }

    @Override
    public Work broadcast(Tensor t, int root) {
        note("broadcast", t.numel());
        return inner.broadcast(t, root);
    }

    @Override
    public Work send(Tensor t, int peer) {
        note("send", t.numel());
        return inner.send(t, peer);
    }

    @Override
    public Work recv(Tensor t, int peer) {
        note("recv", t.numel());
        return inner.recv(t, peer);
    }

    @Override
    public void barrier() {
        inner.barrier();
    }

    @Override
    public Communicator subGroup(int[] ranks) {
        return new RecordingCommunicator(inner.subGroup(ranks), log);
    }

    @Override
    public void close() {
        inner.close();
    }
}
