package dev.panomni.parallel.comm;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

/**
 * The shared state of one in-process group: ranks are threads of this JVM that exchange tensors
 * through shared memory. Create it once, then hand {@link #communicator(int)} to each rank's thread.
 *
 * <p>Every collective is a rendezvous: all ranks deposit their arguments, each computes its own
 * result from everyone's buffers, and nobody returns before everyone has finished reading. A rank
 * that fails calls {@link Communicator#close()} or {@link InProcessCommunicator#abort}, or simply
 * stops arriving: the others get a {@link CollectiveException} naming it, at once or after the
 * timeout, never a silent hang.
 */
public final class InProcessGroup {
    private static final AtomicLong IDS = new AtomicLong();

    private final String name;
    private final int size;
    private final long timeoutMillis;
    private final int[] worldRanks;
    private final Map<Long, Rendezvous> rendezvous = new ConcurrentHashMap<>();
    private final Map<String, Mailbox> mailboxes = new ConcurrentHashMap<>();
    private final Map<String, InProcessGroup> subGroups = new ConcurrentHashMap<>();
    private volatile CollectiveException broken;

    /**
     * @param size          number of ranks
     * @param timeoutMillis how long a collective waits for the slowest rank before failing
     */
    public InProcessGroup(int size, long timeoutMillis) {
        this("world-" + IDS.incrementAndGet(), IntStream.range(0, size).toArray(), timeoutMillis);
    }

    private InProcessGroup(String name, int[] worldRanks, long timeoutMillis) {
        if (worldRanks.length < 1) {
            throw new IllegalArgumentException("a group needs at least one rank");
        }
        this.name = name;
        this.size = worldRanks.length;
        this.worldRanks = worldRanks.clone();
        this.timeoutMillis = timeoutMillis;
    }

    /** The communicator for {@code rank}; call once per rank. */
    public InProcessCommunicator communicator(int rank) {
        if (rank < 0 || rank >= size) {
            throw new IllegalArgumentException("rank " + rank + " out of range for a group of " + size);
        }
        return new InProcessCommunicator(this, rank);
    }

    public int size() {
        return size;
    }

    public String name() {
        return name;
    }

    long timeoutMillis() {
        return timeoutMillis;
    }

    /** The rank's index in the outermost group, for error messages. */
    int worldRank(int rank) {
        return worldRanks[rank];
    }

    Rendezvous rendezvous(long seq) {
        return rendezvous.computeIfAbsent(seq, s -> new Rendezvous(this, s));
    }

    void finished(long seq) {
        rendezvous.remove(seq);
    }

    Mailbox mailbox(int src, int dst, long seq) {
        return mailboxes.computeIfAbsent(src + ">" + dst + "#" + seq, k -> new Mailbox());
    }

    void dropMailbox(int src, int dst, long seq) {
        mailboxes.remove(src + ">" + dst + "#" + seq);
    }

    /**
     * The {@code nth} sub-group over {@code ranks} (every member asks in the same order). Two calls
     * with the same members give two independent groups, as two NCCL communicators would: their
     * collectives must not meet in one sequence of rendezvous.
     */
    InProcessGroup subGroup(int[] ranks, int nth) {
        String key = Arrays.toString(ranks) + "#" + nth;
        return subGroups.computeIfAbsent(key, k -> new InProcessGroup(name + "/" + k,
                Arrays.stream(ranks).map(r -> worldRanks[r]).toArray(), timeoutMillis));
    }

    /**
     * Ends the group from outside (a launcher whose rank {@code rank} failed): every waiting and later
     * collective of every rank throws a {@link CollectiveException} naming {@code rank}.
     */
    public void abort(int rank, String why) {
        breakGroup(rank, why, null);
    }

    /** Marks the group failed because of {@code rank}; every waiting and later collective throws. */
    void breakGroup(int rank, String why, Throwable cause) {
        breakWith(new CollectiveException("group " + name + ": rank " + worldRank(rank) + " " + why, worldRank(rank),
                cause));
    }

    /** Marks the group (and its sub-groups) failed with {@code failure}, which names the rank at fault. */
    private void breakWith(CollectiveException failure) {
        synchronized (this) {
            if (broken == null) {
                broken = failure;
            }
            notifyAll();
        }
        for (Rendezvous r : List.copyOf(rendezvous.values())) {
            r.wake();
        }
        for (Mailbox m : List.copyOf(mailboxes.values())) {
            m.wake();
        }
        for (InProcessGroup g : subGroups.values()) {
            // The sub-group's members did nothing wrong: the failure keeps naming the rank at fault.
            g.breakWith(new CollectiveException("group " + g.name + ": parent group " + name + " broke: "
                    + failure.getMessage(), failure.failedRank(), failure));
        }
    }

    /** The failure that broke this group, or null. */
    CollectiveException broken() {
        return broken;
    }

    /** A point-to-point handoff: the sender waits until the receiver has copied. */
    static final class Mailbox {
        Object payload;
        boolean taken;

        synchronized void wake() {
            notifyAll();
        }
    }
}
