package dev.panomni.parallel.text;

import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.ForwardingCommunicator;

import java.util.List;

/**
 * A communicator that records itself and every sub-group made from it (at any depth) in a shared
 * list, so that a test can abort every group of every rank when one rank fails: the mesh's groups
 * are made inside the rank's program, out of the test's reach otherwise. Everything else is
 * passed through unchanged.
 */
final class TrackingCommunicator extends ForwardingCommunicator {
    private final List<Communicator> registry;

    TrackingCommunicator(Communicator delegate, List<Communicator> registry) {
        super(delegate);
        this.registry = registry;
        registry.add(delegate);
    }

    @Override
    public Communicator subGroup(int[] ranks) {
        return new TrackingCommunicator(super.subGroup(ranks), registry);
    }
}
