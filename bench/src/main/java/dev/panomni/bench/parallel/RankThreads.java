package dev.panomni.bench.parallel;

import dev.panomni.parallel.comm.CollectiveException;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.InProcessCommunicator;
import dev.panomni.parallel.comm.InProcessGroup;
import dev.panomni.parallel.comm.nccl.NcclCommunicator;
import dev.panomni.parallel.comm.nccl.NcclOptions;
import dev.panomni.parallel.launch.KeyValueStore;
import dev.panomni.parallel.mesh.DeviceMesh;
import dev.panomni.parallel.mesh.MeshDim;
import dev.panomni.parallel.mesh.MeshShape;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The ranks of one job as threads of this JVM, each with its world communicator: on CUDA rank r
 * computes on cuda:r and the ranks talk through NCCL (meeting through a rendezvous store served
 * here); on the CPU they share an in-process group.
 *
 * <p>When a rank fails (a device out of memory in a sequence sweep, say), the others would wait in
 * their next collective for a partner that never comes. So every communicator of every rank (the
 * world and the groups of the meshes made through {@link Rank#mesh}) is aborted at once, the other
 * ranks fail fast with a {@link CollectiveException}, and the first rank's own error is rethrown.
 * Rank threads are daemons: a rank stuck past the grace period is reported, not waited for.
 */
final class RankThreads {
    /** How long the other ranks may take to stop once one has failed and the communicators are aborted. */
    private static final Duration GRACE = Duration.ofMinutes(3);

    /** How long creating a group waits for the other ranks (a rank that failed before joining is named after it). */
    private static final Duration RENDEZVOUS = Duration.ofMinutes(2);

    private RankThreads() {
    }

    /** A rank's program. */
    @FunctionalInterface
    interface Body<T> {
        T run(Rank rank) throws Exception;
    }

    /** One rank's place in the job. */
    static final class Rank {
        private final int rank;
        private final int size;
        private final Device device;
        private final Communicator world;
        private final List<DeviceMesh> meshes = new CopyOnWriteArrayList<>();

        Rank(int rank, int size, Device device, Communicator world) {
            this.rank = rank;
            this.size = size;
            this.device = device;
            this.world = world;
        }

        int rank() {
            return rank;
        }

        int size() {
            return size;
        }

        /** cuda:rank, or the CPU. */
        Device device() {
            return device;
        }

        Communicator world() {
            return world;
        }

        /**
         * A mesh over the world. Its groups are aborted with the world when a rank fails, and closed
         * with it after the body: the body must not close it.
         */
        DeviceMesh mesh(MeshShape shape) {
            DeviceMesh m = new DeviceMesh(shape, world);
            meshes.add(m);
            return m;
        }

        /** Closes the meshes' groups and the world. */
        private void close() {
            for (DeviceMesh m : meshes) {
                m.close();
            }
            world.close();
        }

        void abort(Throwable cause) {
            List<Communicator> all = new ArrayList<>();
            all.add(world);
            for (DeviceMesh m : meshes) {
                for (MeshDim d : MeshDim.values()) {
                    if (d != MeshDim.WORLD) {
                        all.add(m.group(d));
                    }
                }
            }
            for (Communicator c : all) {
                try {
                    switch (c) {
                        case NcclCommunicator n -> n.abort("rank failed: " + cause);
                        case InProcessCommunicator p -> p.abort(cause);
                        default -> {
                        }
                    }
                } catch (RuntimeException e) {
                    // already closed or aborted
                }
            }
        }
    }

    /**
     * Runs {@code body} on {@code n} rank threads and returns each rank's result in rank order.
     *
     * @param cuda              ranks on cuda:0 .. cuda:n-1 through NCCL, else on the CPU in process
     * @param collectiveTimeout how long one collective may take (NCCL's watchdog aborts it after that)
     * @throws Exception the first failing rank's error (a rank's own error before the collective
     *                   failures it caused in the others)
     */
    static <T> List<T> run(int n, boolean cuda, Duration collectiveTimeout, Body<T> body) throws Exception {
        AtomicReferenceArray<Rank> ranks = new AtomicReferenceArray<>(n);
        InProcessGroup group = cuda ? null : new InProcessGroup(n, collectiveTimeout.toMillis());
        KeyValueStore store = cuda && n > 1 ? KeyValueStore.serve("127.0.0.1", 0) : null;
        NcclOptions options = NcclOptions.defaults().withTimeout(collectiveTimeout).withRendezvousTimeout(RENDEZVOUS);
        ExecutorService pool = Executors.newFixedThreadPool(n, r -> {
            Thread t = new Thread(r);
            t.setDaemon(true);
            return t;
        });
        LinkedBlockingQueue<Integer> finished = new LinkedBlockingQueue<>();
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                futures.add(pool.submit(() -> {
                    Thread.currentThread().setName("rank-" + rank);
                    try (Scope s = Scope.open("rank " + rank)) {
                        Device device = cuda ? Device.cuda(rank) : Device.CPU;
                        Communicator world = cuda ? nccl(rank, n, device, store, options) : group.communicator(rank);
                        Rank me = new Rank(rank, n, device, world);
                        ranks.set(rank, me);
                        try {
                            return body.run(me);
                        } catch (Throwable e) {
                            // Abort before closing anything: closing waits for collectives in flight.
                            for (int k = 0; k < n; k++) {
                                Rank other = ranks.get(k);
                                if (other != null) {
                                    other.abort(e);
                                }
                            }
                            throw e;
                        } finally {
                            me.close();
                        }
                    } finally {
                        finished.add(rank);
                    }
                }));
            }
            Throwable first = null;
            for (int done = 0; done < n; done++) {
                Integer r = first == null ? finished.take() : finished.poll(GRACE.toMillis(), TimeUnit.MILLISECONDS);
                if (r == null) {
                    throw new IllegalStateException("ranks were still running " + GRACE.toSeconds() + " s after a rank "
                            + "failed and the communicators were aborted; giving up on them", first);
                }
                Throwable e = failure(futures.get(r));
                if (e != null && (first == null || first instanceof CollectiveException
                        && !(e instanceof CollectiveException))) {
                    first = e;
                }
            }
            if (first != null) {
                if (first instanceof Exception ex) {
                    throw ex;
                }
                throw (Error) first;
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : futures) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
            if (store != null) {
                store.close();
            }
        }
    }

    private static Communicator nccl(int rank, int n, Device device, KeyValueStore server, NcclOptions options)
            throws java.io.IOException {
        if (n == 1) {
            return NcclCommunicator.create(0, 1, device, null, false, options);
        }
        KeyValueStore store = KeyValueStore.connect("127.0.0.1", server.port(), options.rendezvousTimeout());
        try {
            return NcclCommunicator.create(rank, n, device, store, true, options);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    private static Throwable failure(Future<?> f) throws InterruptedException {
        try {
            f.get();
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        }
    }
}
