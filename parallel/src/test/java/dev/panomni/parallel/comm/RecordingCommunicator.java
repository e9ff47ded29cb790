package dev.panomni.parallel.comm;

import dev.panomni.tensor.Tensor;

import java.util.List;

/** A communicator that appends "op:elements" to a log each time a collective is issued (not completed). */
public final class RecordingCommunicator extends ForwardingCommunicator {
    private final List<String> log;

    public RecordingCommunicator(Communicator inner, List<String> log) {
        super(inner);
        this.log = log;
    }

    private void note(String op, long elements) {
        synchronized (log) {
            log.add(op + ":" + elements);
        }
    }

    @Override
    public Work allReduce(Tensor t, ReduceOp op) {
        note("allReduce", t.numel());
        return super.allReduce(t, op);
    }

    @Override
    public Work allGather(Tensor input, Tensor output) {
        note("allGather", output.numel());
        return super.allGather(input, output);
    }

    @Override
    public Work reduceScatter(Tensor input, Tensor output, ReduceOp op) {
        note("reduceScatter", input.numel());
        return super.reduceScatter(input, output, op);
    }

    @Override
    public Work allToAll(Tensor input, long[] sendCounts, Tensor output, long[] recvCounts) {
        note("allToAll", input.numel());
        return super.allToAll(input, sendCounts, output, recvCounts);
    }

    @Override
    public Work broadcast(Tensor t, int root) {
        note("broadcast", t.numel());
        return super.broadcast(t, root);
    }

    @Override
    public Work send(Tensor t, int peer) {
        note("send", t.numel());
        return super.send(t, peer);
    }

    @Override
    public Work recv(Tensor t, int peer) {
        note("recv", t.numel());
        return super.recv(t, peer);
    }

    @Override
    public Communicator subGroup(int[] ranks) {
        return new RecordingCommunicator(super.subGroup(ranks), log);
    }
}
