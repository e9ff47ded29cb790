package dev.panomni.parallel.comm;

/**
 * One collective call's meeting point: ranks deposit their arguments, wait for all, compute, then
 * wait again until all have finished reading each other's buffers.
 */
final class Rendezvous {
    private final InProcessGroup group;
    private final long seq;
    private final Object[] deposits;
    private int arrived;
    private int phase;
    private int left;

    Rendezvous(InProcessGroup group, long seq) {
        this.group = group;
        this.seq = seq;
        this.deposits = new Object[group.size()];
    }

    Object deposit(int rank) {
        return deposits[rank];
    }

    int size() {
        return deposits.length;
    }

    /** Deposits this rank's arguments and waits until every rank has. */
    void arrive(int rank, Object deposit, String op) {
        synchronized (this) {
            deposits[rank] = deposit;
        }
        phase(rank, 0, op);
    }

    /** Waits until every rank has finished phase {@code p} (0: deposited; 1: computed; ...). */
    void phase(int rank, int p, String op) {
        long deadline = System.currentTimeMillis() + group.timeoutMillis();
        synchronized (this) {
            arrived++;
            if (arrived == deposits.length * (p + 1)) {
                phase = p + 1;
                notifyAll();
            }
            while (phase <= p) {
                CollectiveException b = group.broken();
                if (b != null) {
                    throw new CollectiveException(b.getMessage() + " (while rank " + group.worldRank(rank) + " was in "
                            + op + " #" + seq + ")", b.failedRank(), b);
                }
                long wait = deadline - System.currentTimeMillis();
                if (wait <= 0) {
                    int missing = firstMissing(p);
                    String msg = "did not reach " + op + " #" + seq + " within " + group.timeoutMillis() + " ms";
                    group.breakGroup(missing, msg, null);
                    throw group.broken();
                }
                try {
                    wait(Math.min(wait, 100));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    group.breakGroup(rank, "was interrupted", e);
                    throw group.broken();
                }
            }
        }
    }

    private int firstMissing(int p) {
        if (p == 0) {
            for (int r = 0; r < deposits.length; r++) {
                if (deposits[r] == null) {
                    return r;
                }
            }
        }
        return 0;
    }

    synchronized void wake() {
        notifyAll();
    }

    /** Called by each rank when done; the last one frees the slot. */
    void leave() {
        boolean last;
        synchronized (this) {
            last = ++left == deposits.length;
        }
        if (last) {
            group.finished(seq);
        }
    }
}
