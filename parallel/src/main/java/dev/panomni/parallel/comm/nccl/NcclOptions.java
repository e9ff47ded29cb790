package dev.panomni.parallel.comm.nccl;

import java.time.Duration;

/**
 * Settings of an {@link NcclCommunicator}.
 *
 * @param timeout           how long a collective may stay unfinished (from the moment it is issued)
 *                          before the watchdog aborts the communicator ({@code ncclCommAbort})
 * @param rendezvousTimeout how long creating a group waits for its other members to join
 * @param haltOnFailure     whether a timeout or an asynchronous NCCL error ends the process at once
 *                          (exit status 1, after printing what failed): what a launched rank wants,
 *                          since the launcher then stops the whole job; tests and threads mode leave
 *                          it off and get a {@link dev.panomni.parallel.comm.CollectiveException}
 */
public record NcclOptions(Duration timeout, Duration rendezvousTimeout, boolean haltOnFailure) {
    public NcclOptions {
        if (timeout.isNegative() || timeout.isZero() || rendezvousTimeout.isNegative() || rendezvousTimeout.isZero()) {
            throw new IllegalArgumentException("NCCL timeouts must be positive, got " + timeout + " and "
                    + rendezvousTimeout);
        }
    }

    /** 10 minutes per collective (as torch.distributed), 5 minutes to rendezvous, no halting. */
    public static NcclOptions defaults() {
        return new NcclOptions(Duration.ofMinutes(10), Duration.ofMinutes(5), false);
    }

    public NcclOptions withTimeout(Duration t) {
        return new NcclOptions(t, rendezvousTimeout, haltOnFailure);
    }

    public NcclOptions withRendezvousTimeout(Duration t) {
        return new NcclOptions(timeout, t, haltOnFailure);
    }

    public NcclOptions withHaltOnFailure(boolean halt) {
        return new NcclOptions(timeout, rendezvousTimeout, halt);
    }
}
