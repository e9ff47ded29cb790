package dev.panomni.parallel.text;

import dev.panomni.parallel.comm.Communicator;
import dev.panomni.tensor.Device;

import java.util.List;

/**
 * Where the ranks of a parallel test run, so that one test body runs unchanged on the CPU (threads
 * sharing an in-process group, {@link Ranks#inProcess}) and on GPUs (a thread per GPU, NCCL between
 * them, {@link NcclRanks}).
 */
public interface RankGroup {
    /** A rank's program: its world communicator and the device its tensors live on. */
    @FunctionalInterface
    interface Body<T> {
        T run(Communicator world, Device device) throws Exception;
    }

    /**
     * Runs {@code body} on {@code n} ranks and returns each rank's result in rank order. When a rank
     * fails, the others are stopped and the first failing rank's error is thrown (a root cause in
     * preference to the collective errors it caused on the other ranks).
     */
    <T> List<T> run(int n, Body<T> body) throws Exception;

    /** What the ranks run on, for messages ("in-process, CPU", "NCCL, cuda:0..1"). */
    String describe();
}
