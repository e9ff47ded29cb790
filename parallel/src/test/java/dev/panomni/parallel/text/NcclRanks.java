package dev.panomni.parallel.text;

import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.nccl.NcclCommunicator;
import dev.panomni.parallel.comm.nccl.NcclOptions;
import dev.panomni.parallel.launch.KeyValueStore;
import dev.panomni.tensor.Device;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The GPU {@link RankGroup}: rank r is a thread of this JVM driving {@code cuda:r} (NCCL allows one
 * rank per GPU), with an {@link NcclCommunicator} world made through a rendezvous
 * {@link KeyValueStore} served on a free local port; the mesh's groups are NCCL communicators too,
 * each created with its own unique id exchanged through the same store. Supervised
 * ({@link SupervisedRanks}): a failing rank's peers are aborted ({@code ncclCommAbort} on every
 * communicator of every rank, the store closed), each run has a deadline, and hangs stop later runs.
 */
public final class NcclRanks {
    /** How long rank threads may take to return once their communicators are aborted. */
    static final Duration AFTER_ABORT = Duration.ofSeconds(20);

    private NcclRanks() {
    }

    /**
     * @param collectiveTimeout how long one collective (or a group's rendezvous) may take before its
     *                          communicator is aborted by the NCCL watchdog
     * @param deadline          how long a whole run may take
     * @param abortGrace        how long the other ranks may take to finish once one has failed
     */
    public static SupervisedRanks create(Duration collectiveTimeout, Duration deadline, Duration abortGrace) {
        NcclOptions options = NcclOptions.defaults().withTimeout(collectiveTimeout).withRendezvousTimeout(collectiveTimeout);
        return new SupervisedRanks("NCCL, rank r on cuda:r", n -> new Worlds(n, options),
                new SupervisedRanks.Limits(deadline, abortGrace, AFTER_ABORT, collectiveTimeout));
    }

    /** One run's store, and each rank's connection to it. */
    private static final class Worlds implements SupervisedRanks.Worlds {
        private final int n;
        private final NcclOptions options;
        private final KeyValueStore server;
        private final List<KeyValueStore> connections = new CopyOnWriteArrayList<>();
        private volatile boolean closed;

        Worlds(int n, NcclOptions options) throws IOException {
            int gpus = CudaRuntime.deviceCount();
            if (gpus < n) {
                throw new IllegalStateException("NCCL ranks: " + n + " ranks need " + n + " GPUs (one per rank), found "
                        + gpus);
            }
            this.n = n;
            this.options = options;
            this.server = KeyValueStore.serve("127.0.0.1", 0);
        }

        @Override
        public Device device(int rank) {
            return Device.cuda(rank);
        }

        @Override
        public Communicator join(int rank) throws Exception {
            KeyValueStore store = KeyValueStore.connect("127.0.0.1", server.port(), options.rendezvousTimeout());
            connections.add(store);
            if (closed) {
                closeQuietly(store);
                throw new IllegalStateException("NCCL ranks: rank " + rank + " started after the run was aborted");
            }
            // The connection is not the world's (ownsStore false): closing the world then does not wait for the
            // other ranks to leave the group, which an aborted peer never does. close() below closes it.
            return NcclCommunicator.create(rank, n, device(rank), store, false, options);
        }

        @Override
        public void abort(Communicator c, String why) {
            if (c instanceof NcclCommunicator nccl) {
                nccl.abort(why);
            }
        }

        @Override
        public void close() {
            closed = true;
            for (KeyValueStore c : connections) {
                closeQuietly(c);
            }
            closeQuietly(server);
        }

        private static void closeQuietly(KeyValueStore store) {
            try {
                store.close();
            } catch (IOException e) {
                // closed already
            }
        }
    }
}
