package dev.panomni.parallel.launch;

import dev.panomni.parallel.comm.CollectiveException;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Meeting points through the {@link KeyValueStore}: every member of a group announces itself and
 * waits for the others, so that a rank that never starts (or never reaches the group's creation)
 * ends the job with its name after the rendezvous timeout instead of hanging in a backend's
 * initialization (NCCL's own bootstrap waits forever).
 */
public final class StoreRendezvous {
    private StoreRendezvous() {
    }

    /**
     * A name for this process's next world group of {@code backend} that every rank computes alike
     * ({@code backend/world#k} for the k-th one), so groups created one after another on the same
     * store never read each other's keys.
     */
    public static String nextWorldName(KeyValueStore store, String backend, int rank) throws IOException {
        long k = store.add(backend + "/generation/rank" + rank, 1) - 1;
        return backend + "/world#" + k;
    }

    /**
     * Announces member {@code index} of {@code group} and waits until all {@code worldRanks.length}
     * members have; the last to arrive releases everyone.
     *
     * @param worldRanks each member's rank in the job, for messages
     * @throws CollectiveException naming the first member that did not arrive within {@code timeout}
     */
    public static void join(KeyValueStore store, String group, int index, int[] worldRanks, Duration timeout) {
        int n = worldRanks.length;
        try {
            store.set(group + "/joined/" + index, new byte[] {1});
            if (store.add(group + "/arrivals", 1) == n) {
                store.set(group + "/complete", new byte[] {1});
            }
            store.get(group + "/complete", timeout);
        } catch (SocketTimeoutException e) {
            List<Integer> missing = missing(store, group, worldRanks);
            int first = missing.isEmpty() ? -1 : missing.get(0);
            throw new CollectiveException("rendezvous of group " + group + ": rank" + (missing.size() == 1 ? " " : "s ")
                    + (missing.isEmpty() ? "?" : join(missing)) + " did not join within " + timeout.toSeconds()
                    + " s (rank " + worldRanks[index] + " waited); check that every rank started and reaches the "
                    + "same point, or raise the rendezvous timeout", first, e);
        } catch (IOException e) {
            throw new CollectiveException("rendezvous of group " + group + " failed on rank " + worldRanks[index] + ": "
                    + e.getMessage(), worldRanks[index], e);
        }
    }

    private static List<Integer> missing(KeyValueStore store, String group, int[] worldRanks) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < worldRanks.length; i++) {
            try {
                store.get(group + "/joined/" + i, Duration.ZERO);
            } catch (IOException e) {
                out.add(worldRanks[i]);
            }
        }
        return out;
    }

    private static String join(List<Integer> ranks) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ranks.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(ranks.get(i));
        }
        return sb.toString();
    }

    /** {@code bytes} published by member 0 of {@code group} under {@code key} (member 0 passes them, others get them). */
    public static byte[] share(KeyValueStore store, String group, String key, int index, byte[] bytes, int worldRankOf0,
                               Duration timeout) {
        String k = group + "/" + key;
        try {
            if (index == 0) {
                store.set(k, bytes);
                return bytes;
            }
            return store.get(k, timeout);
        } catch (SocketTimeoutException e) {
            throw new CollectiveException("rendezvous of group " + group + ": rank " + worldRankOf0 + " did not publish "
                    + key + " within " + timeout.toSeconds() + " s", worldRankOf0, e);
        } catch (IOException e) {
            throw new CollectiveException("rendezvous of group " + group + ": " + e.getMessage(), worldRankOf0, e);
        }
    }

    /**
     * Announces that member {@code index} is done with {@code group}; member 0 (whose process serves
     * the store for the world group) waits until all {@code n} members have, at most {@code timeout},
     * so that it does not close the store under a rank still reading its last values.
     */
    public static void leave(KeyValueStore store, String group, int index, int n, Duration timeout) {
        try {
            if (store.add(group + "/left", 1) == n) {
                store.set(group + "/all-left", new byte[] {1});
            }
            if (index == 0) {
                store.get(group + "/all-left", timeout);
            }
        } catch (IOException e) {
            // a rank or the store is gone already: nothing left to wait for
        }
    }
}
