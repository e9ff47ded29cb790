package dev.panomni.parallel.ep;

import dev.panomni.nn.ExpertChoice;
import dev.panomni.parallel.comm.Communicator;

/**
 * A layer's routed experts split evenly over an expert-parallel group: rank j holds experts
 * {@code [j * E/ep, (j + 1) * E/ep)}, the rows of the layer's stacked expert parameters it keeps.
 *
 * @param group   the expert-parallel group
 * @param experts routed experts of the layer (E); must be divisible by the group size
 */
record ExpertSplit(Communicator group, int experts) {
    ExpertSplit {
        if (experts % group.size() != 0) {
            throw new IllegalArgumentException("expert parallel: " + experts + " experts cannot be split evenly over ep = "
                    + group.size() + " ranks");
        }
    }

    /** Experts each rank holds (E / ep). */
    int perRank() {
        return experts / group.size();
    }

    /** The first expert this rank holds. */
    int first() {
        return group.rank() * perRank();
    }

    /** Refuses a router decision over another number of experts than the layer's. */
    void check(ExpertChoice choice) {
        if (choice.experts() != experts) {
            throw new IllegalArgumentException("expert parallel: the router chose among " + choice.experts()
                    + " experts, the layer has " + experts);
        }
    }
}
