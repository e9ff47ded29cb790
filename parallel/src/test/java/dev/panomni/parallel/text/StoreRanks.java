package dev.panomni.parallel.text;

import dev.panomni.parallel.comm.CollectiveException;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.StoreCommunicator;
import dev.panomni.parallel.launch.KeyValueStore;
import dev.panomni.parallel.launch.LaunchEnv;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A CPU {@link RankGroup} shaped like the GPU one ({@link NcclRanks}): each rank thread joins
 * through its own connection to a rendezvous {@link KeyValueStore}, as a launched process would,
 * and every mesh group is a separate communicator that meets through the store under its own
 * name ({@link StoreCommunicator}, the host backend of one process per rank). It checks on the CPU
 * what the NCCL backend's sub-groups rely on: that the members of each mesh group, created in
 * program order on every rank, find each other under the same key.
 */
public final class StoreRanks implements RankGroup {
    private final Duration timeout;

    /** @param timeout how long a rendezvous or a collective waits for the slowest rank */
    public StoreRanks(Duration timeout) {
        this.timeout = timeout;
    }

    @Override
    public String describe() {
        return "store ranks, cpu";
    }

    @Override
    public <T> List<T> run(int n, Body<T> body) throws Exception {
        try (KeyValueStore server = KeyValueStore.serve("127.0.0.1", 0)) {
            ExecutorService pool = Executors.newFixedThreadPool(n);
            try {
                List<Future<T>> futures = new ArrayList<>();
                for (int r = 0; r < n; r++) {
                    LaunchEnv env = new LaunchEnv(r, n, r, n, "127.0.0.1", server.port());
                    futures.add(pool.submit(() -> {
                        try (Scope s = Scope.open("store rank " + env.rank());
                             Communicator world = StoreCommunicator.join(env, true, timeout, timeout)) {
                            return body.run(world, Device.CPU);
                        }
                    }));
                }
                List<T> out = new ArrayList<>();
                Exception first = null;
                for (Future<T> f : futures) {
                    try {
                        out.add(f.get());
                    } catch (ExecutionException e) {
                        Exception cause = e.getCause() instanceof Exception x ? x : e;
                        if (first == null || first instanceof CollectiveException && !(cause instanceof CollectiveException)) {
                            first = cause;
                        }
                    }
                }
                if (first != null) {
                    throw first;
                }
                return out;
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
