package dev.panomni.parallel.ep;

import dev.panomni.nn.ExpertExecutor;
import dev.panomni.parallel.comm.Communicator;

/**
 * How an expert-parallel MoE layer moves tokens to the ranks that hold their experts (Megatron's
 * "token dispatcher" choice).
 */
public enum ExpertDispatch {
    /**
     * Every token to every EP rank by all-gather, the partial sums back by reduce-scatter
     * ({@link ExpertAllGatherExecutor}): fixed sizes, no host plan, the GPU waits only for the local
     * experts' counts. Moves {@code 1 / (1 - (1 - 1/ep)^k)} times the all-to-all's volume: the same at
     * ep 2, 1.5x at ep 8 for top-8. The default.
     */
    ALL_GATHER,
    /**
     * Each token once to each rank holding one of its experts by uneven all-to-all
     * ({@link ExpertAllToAllExecutor}): the least data, but a dispatch plan built on the host after
     * reading the sorted routing, while the GPU waits.
     */
    ALL_TO_ALL;

    /** This dispatch's executor for a layer of {@code experts} routed experts over the group {@code ep}. */
    public ExpertExecutor executor(Communicator ep, int experts) {
        return switch (this) {
            case ALL_GATHER -> new ExpertAllGatherExecutor(ep, experts);
            case ALL_TO_ALL -> new ExpertAllToAllExecutor(ep, experts);
        };
    }
}
