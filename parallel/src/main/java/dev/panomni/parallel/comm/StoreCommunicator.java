package dev.panomni.parallel.comm;

import dev.panomni.parallel.launch.KeyValueStore;
import dev.panomni.parallel.launch.LaunchEnv;
import dev.panomni.parallel.launch.StoreRendezvous;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Host tensors between processes, through the rendezvous {@link KeyValueStore}: the backend of CPU
 * jobs started with one process per rank ({@code panomni launch --nproc-per-node N} without
 * {@code --threads}). Each rank publishes what the others need under a key naming the collective
 * and reads theirs; values vanish once read. Every byte crosses rank 0's store as text, so this is
 * for correctness and small CPU jobs: in one JVM use the in-process backend ({@code --threads}), on
 * GPUs NCCL.
 *
 * <p>Results are those of the in-process backend (reductions in rank order, bit-identical on every
 * rank). Collectives run in issue order on a worker thread; a send is published at once (so a ring
 * of sends followed by receives cannot deadlock). A rank that stops taking part is named by the
 * others once the collective timeout passes; a rank process that dies is caught sooner by the
 * launcher, which ends the job.
 */
public final class StoreCommunicator implements Communicator {
    private final String name;
    private final int rank;
    private final int[] worldRanks;
    private final String host;
    private final int port;
    private final Duration timeout;
    private final KeyValueStore control;   // sends and the group's bookkeeping; rank 0 of the world: the server
    private final KeyValueStore blocking;  // the worker's connection: its GETs wait for other ranks
    private final boolean world;
    private final ExecutorService worker;
    private final long[] sendSeq;
    private final long[] recvSeq;
    private final Map<String, Integer> subGroupCalls = new HashMap<>();
    private long seq;
    private volatile CollectiveException failure;
    private boolean closed;

    private StoreCommunicator(String name, int rank, int[] worldRanks, String host, int port, Duration timeout,
                              KeyValueStore control, boolean world) throws IOException {
        this.name = name;
        this.rank = rank;
        this.worldRanks = worldRanks.clone();
        this.host = host;
        this.port = port;
        this.timeout = timeout;
        this.control = control;
        this.world = world;
        this.blocking = KeyValueStore.connect(host, port, timeout);
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "store-" + name + "-rank" + worldRanks[rank]);
            t.setDaemon(true);
            return t;
        });
        this.sendSeq = new long[worldRanks.length];
        this.recvSeq = new long[worldRanks.length];
    }

    /**
     * Joins the job described by {@code env}: rank 0 serves the store at MASTER_ADDR:MASTER_PORT
     * unless {@code storeServed} (another party already serves it), every rank connects, and all meet.
     *
     * @param rendezvousTimeout how long to wait for every rank to join
     * @param timeout           how long a collective waits for the slowest rank
     * @throws CollectiveException naming the ranks that did not join in time
     */
    public static StoreCommunicator join(LaunchEnv env, boolean storeServed, Duration rendezvousTimeout, Duration timeout)
            throws IOException {
        KeyValueStore store = env.rank() == 0 && !storeServed
                ? KeyValueStore.serve(env.masterAddr(), env.masterPort())
                : KeyValueStore.connect(env.masterAddr(), env.masterPort(), rendezvousTimeout);
        try {
            String name = StoreRendezvous.nextWorldName(store, "host", env.rank());
            int[] ranks = java.util.stream.IntStream.range(0, env.worldSize()).toArray();
            StoreRendezvous.join(store, name, env.rank(), ranks, rendezvousTimeout);
            return new StoreCommunicator(name, env.rank(), ranks, env.masterAddr(), env.masterPort(), timeout, store, true);
        } catch (IOException | RuntimeException e) {
            store.close();
            throw e;
        }
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return worldRanks.length;
    }

    // ---------------------------------------------------------------- plumbing

    /** Bytes before a payload's elements: the dtype's ordinal and the element count. */
    private static final int HEADER = 9;

    /** A value read from the store: the sender's dtype and element count, then its bytes. */
    private record Payload(DType dtype, long numel, MemorySegment data) {
        String describe() {
            return "[" + numel + " elements] " + dtype;
        }
    }

    private static byte[] encode(Tensor t, long firstElement, long elements) {
        long es = t.dtype().byteSize();
        byte[] out = new byte[Math.toIntExact(HEADER + elements * es)];
        ByteBuffer.wrap(out).put((byte) t.dtype().ordinal()).putLong(elements);
        MemorySegment.copy(t.data(), firstElement * es, MemorySegment.ofArray(out), HEADER, elements * es);
        return out;
    }

    /** The payload's elements land in a long[]-backed segment, aligned for every dtype's accesses. */
    private static Payload decode(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        DType dt = DType.values()[b.get()];
        long numel = b.getLong();
        long size = bytes.length - HEADER;
        MemorySegment data = MemorySegment.ofArray(new long[Math.toIntExact((size + 7) / 8)]).asSlice(0, size);
        MemorySegment.copy(MemorySegment.ofArray(bytes), HEADER, data, 0, size);
        return new Payload(dt, numel, data);
    }

    private String key(long s, int src) {
        return name + "/" + s + "/" + src;
    }

    private String key(long s, int src, int dst) {
        return name + "/" + s + "/" + src + ">" + dst;
    }

    private void publish(String key, byte[] value, int reads) {
        try {
            control.set(key, value, reads);
        } catch (IOException e) {
            throw fail(new CollectiveException("group " + name + ": rank " + worldRanks[rank] + " lost the store: "
                    + e.getMessage(), worldRanks[rank], e));
        }
    }

    /** What {@code src} published under {@code key}, waiting up to the timeout (then naming src). */
    private Payload fetch(String key, int src, String what) {
        try {
            return decode(blocking.get(key, timeout));
        } catch (SocketTimeoutException e) {
            throw fail(new CollectiveException("group " + name + ": rank " + worldRanks[src] + " did not reach " + what
                    + " within " + timeout.toMillis() + " ms (rank " + worldRanks[rank] + " waited)", worldRanks[src], e));
        } catch (IOException e) {
            throw fail(new CollectiveException("group " + name + ": rank " + worldRanks[rank] + " lost the store in "
                    + what + ": " + e.getMessage(), worldRanks[rank], e));
        }
    }

    private CollectiveException fail(CollectiveException e) {
        if (failure == null) {
            failure = e;
        }
        return e;
    }

    private void checkUsable(String op) {
        if (failure != null) {
            throw new CollectiveException("group " + name + " failed earlier, " + op + " refused: " + failure.getMessage(),
                    failure.failedRank(), failure);
        }
        if (closed) {
            throw new IllegalStateException(op + ": the communicator of group " + name + " is closed");
        }
    }

    private Payload agree(String op, Payload p, DType dtype, long numel, int src) {
        if (p.dtype() != dtype || p.numel() != numel) {
            throw fail(new CollectiveException("group " + name + ": rank " + worldRanks[rank] + " expects [" + numel
                    + " elements] " + dtype + " in " + op + " but rank " + worldRanks[src] + " passed " + p.describe()
                    + "; every rank must pass matching shapes and dtypes", worldRanks[src], null));
        }
        return p;
    }

    private Work submit(String op, Callable<Void> body) {
        checkUsable(op);
        CompletableFuture<Void> f = CompletableFuture.supplyAsync(() -> {
            try {
                if (failure != null) {
                    throw new CollectiveException("group " + name + " failed earlier, " + op + " refused: "
                            + failure.getMessage(), failure.failedRank(), failure);
                }
                return body.call();
            } catch (CollectiveException e) {
                throw fail(e);
            } catch (Exception e) {
                throw fail(new CollectiveException("group " + name + ": rank " + worldRanks[rank] + " failed in " + op
                        + ": " + e.getMessage(), worldRanks[rank], e));
            }
        }, worker);
        return new Work() {
            @Override
            public void await() {
                try {
                    f.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CollectiveException(op + " interrupted on rank " + worldRanks[rank], worldRanks[rank], e);
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException re) {
                        throw re;
                    }
                    throw new CollectiveException(op + " failed on rank " + worldRanks[rank], worldRanks[rank], e.getCause());
                }
            }

            @Override
            public boolean isDone() {
                return f.isDone();
            }
        };
    }

    private static void checkHost(String op, Tensor t) {
        t.checkLive();
        if (t.device().type() != Device.Type.CPU) {
            throw new IllegalArgumentException(op + ": the store communicator moves host tensors, got " + t.describe()
                    + "; use the NCCL communicator for device tensors");
        }
        if (!t.isContiguous()) {
            throw new IllegalArgumentException(op + ": buffer " + t.describe() + " must be contiguous");
        }
    }

    private static void checkMultiple(String op, Tensor big, Tensor small, int n) {
        if (big.dtype() != small.dtype() || big.numel() != small.numel() * n) {
            throw new IllegalArgumentException(op + ": the large buffer " + big.describe() + " must hold " + n
                    + " x the per-rank buffer " + small.describe());
        }
    }

    private static long bytes(Tensor t) {
        return t.numel() * t.dtype().byteSize();
    }

    // ---------------------------------------------------------------- collectives

    @Override
    public Work allReduce(Tensor t, ReduceOp op) {
        checkHost("allReduce", t);
        long s = seq++;
        int n = size();
        String what = "allReduce #" + s;
        return submit("allReduce", () -> {
            if (n == 1) {
                return null;
            }
            publish(key(s, rank), encode(t, 0, t.numel()), n - 1);
            List<MemorySegment> inputs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                inputs.add(i == rank ? t.data() : agree(what, fetch(key(s, i), i, what), t.dtype(), t.numel(), i).data());
            }
            try (Scope sc = Scope.open("store.allReduce")) {
                Tensor acc = Tensor.empty(t.dtype(), Device.CPU, t.numel());
                HostReduce.reduce(t.dtype(), op, inputs, 0, Math.toIntExact(t.numel()), acc.data());
                MemorySegment.copy(acc.data(), 0, t.data(), 0, bytes(t));
            }
            return null;
        });
    }

    @Override
    public Work allGather(Tensor input, Tensor output) {
        checkHost("allGather", input);
        checkHost("allGather", output);
        checkMultiple("allGather", output, input, size());
        long s = seq++;
        int n = size();
        String what = "allGather #" + s;
        return submit("allGather", () -> {
            long chunk = bytes(input);
            if (n > 1) {
                publish(key(s, rank), encode(input, 0, input.numel()), n - 1);
            }
            for (int i = 0; i < n; i++) {
                MemorySegment src = i == rank ? input.data()
                        : agree(what, fetch(key(s, i), i, what), input.dtype(), input.numel(), i).data();
                MemorySegment.copy(src, 0, output.data(), i * chunk, chunk);
            }
            return null;
        });
    }

    @Override
    public Work reduceScatter(Tensor input, Tensor output, ReduceOp op) {
        checkHost("reduceScatter", input);
        checkHost("reduceScatter", output);
        checkMultiple("reduceScatter", input, output, size());
        long s = seq++;
        int n = size();
        String what = "reduceScatter #" + s;
        return submit("reduceScatter", () -> {
            long m = output.numel();
            long es = output.dtype().byteSize();
            for (int j = 0; j < n; j++) {
                if (j != rank) {
                    publish(key(s, rank, j), encode(input, j * m, m), 1);
                }
            }
            List<MemorySegment> inputs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                inputs.add(i == rank ? input.data().asSlice(rank * m * es, m * es)
                        : agree(what, fetch(key(s, i, rank), i, what), output.dtype(), m, i).data());
            }
            HostReduce.reduce(output.dtype(), op, inputs, 0, Math.toIntExact(m), output.data());
            return null;
        });
    }

    @Override
    public Work allToAll(Tensor input, long[] sendCounts, Tensor output, long[] recvCounts) {
        checkHost("allToAll", input);
        checkHost("allToAll", output);
        int n = size();
        AllToAllSplits.check(input, sendCounts, output, recvCounts, n);
        long row = AllToAllSplits.rowElements(input);
        long[] send = sendCounts.clone();
        long[] recv = recvCounts.clone();
        long s = seq++;
        String what = "allToAll #" + s;
        return submit("allToAll", () -> {
            long es = input.dtype().byteSize();
            long[] sendStart = new long[n];
            for (int j = 1; j < n; j++) {
                sendStart[j] = sendStart[j - 1] + send[j - 1];
            }
            for (int j = 0; j < n; j++) {
                if (j != rank) {
                    publish(key(s, rank, j), encode(input, sendStart[j] * row, send[j] * row), 1);
                }
            }
            long dst = 0;
            for (int j = 0; j < n; j++) {
                long elems = recv[j] * row;
                MemorySegment src;
                if (j == rank) {
                    if (send[rank] != recv[rank]) {
                        throw new IllegalArgumentException("allToAll: rank " + worldRanks[rank] + " sends itself "
                                + send[rank] + " rows but expects " + recv[rank]);
                    }
                    src = input.data().asSlice(sendStart[rank] * row * es, elems * es);
                } else {
                    Payload p = fetch(key(s, j, rank), j, what);
                    if (p.numel() != elems || p.dtype() != output.dtype()) {
                        throw fail(new CollectiveException("group " + name + ": rank " + worldRanks[rank] + " expects "
                                + recv[j] + " rows of " + row + " " + output.dtype() + " from rank " + worldRanks[j]
                                + " in " + what + ", which sends " + p.describe(), worldRanks[j], null));
                    }
                    src = p.data();
                }
                MemorySegment.copy(src, 0, output.data(), dst * es, elems * es);
                dst += elems;
            }
            return null;
        });
    }

    @Override
    public Work broadcast(Tensor t, int root) {
        checkHost("broadcast", t);
        checkPeer("broadcast", root);
        long s = seq++;
        int n = size();
        String what = "broadcast #" + s + " from rank " + worldRanks[root];
        return submit("broadcast", () -> {
            if (n == 1) {
                return null;
            }
            if (rank == root) {
                publish(key(s, root), encode(t, 0, t.numel()), n - 1);
            } else {
                Payload p = agree(what, fetch(key(s, root), root, what), t.dtype(), t.numel(), root);
                MemorySegment.copy(p.data(), 0, t.data(), 0, bytes(t));
            }
            return null;
        });
    }

    @Override
    public Work send(Tensor t, int peer) {
        checkHost("send", t);
        checkPeer("send", peer);
        checkUsable("send");
        long k = sendSeq[peer]++;
        publish(name + "/p2p/" + rank + ">" + peer + "#" + k, encode(t, 0, t.numel()), 1);
        return new Work() {
            @Override
            public void await() {
                // published: the buffer may be reused at once
            }

            @Override
            public boolean isDone() {
                return true;
            }
        };
    }

    @Override
    public Work recv(Tensor t, int peer) {
        checkHost("recv", t);
        checkPeer("recv", peer);
        long k = recvSeq[peer]++;
        String what = "send #" + k + " to rank " + worldRanks[rank];
        return submit("recv", () -> {
            Payload p = agree("recv", fetch(name + "/p2p/" + peer + ">" + rank + "#" + k, peer, what), t.dtype(),
                    t.numel(), peer);
            MemorySegment.copy(p.data(), 0, t.data(), 0, bytes(t));
            return null;
        });
    }

    private void checkPeer(String op, int peer) {
        if (peer < 0 || peer >= size()) {
            throw new IllegalArgumentException(op + ": rank " + peer + " is not in a group of " + size());
        }
    }

    @Override
    public void barrier() {
        try (Scope s = Scope.open("barrier")) {
            allReduce(Tensor.zeros(1), ReduceOp.SUM).await();
        }
    }

    @Override
    public Communicator subGroup(int[] ranks) {
        int mine = -1;
        for (int i = 0; i < ranks.length; i++) {
            if (ranks[i] < 0 || ranks[i] >= size()) {
                throw new IllegalArgumentException("subGroup: rank " + ranks[i] + " is not in a group of " + size());
            }
            if (ranks[i] == rank) {
                mine = i;
            }
        }
        if (mine < 0) {
            throw new IllegalArgumentException("subGroup: rank " + rank + " is not a member of " + Arrays.toString(ranks));
        }
        int[] members = Arrays.stream(ranks).map(r -> worldRanks[r]).toArray();
        int nth = subGroupCalls.merge(Arrays.toString(ranks), 1, Integer::sum) - 1;
        try {
            return new StoreCommunicator(name + "/" + Arrays.toString(members).replace(" ", "") + "#" + nth, mine,
                    members, host, port, timeout, KeyValueStore.connect(host, port, timeout), false);
        } catch (IOException e) {
            throw new CollectiveException("subGroup " + Arrays.toString(members) + ": rank " + worldRanks[rank]
                    + " could not reach the store: " + e.getMessage(), worldRanks[rank], e);
        }
    }

    /**
     * Waits for the queued collectives, then closes the connections. Rank 0 of the world serves the
     * store: it stays until every rank has closed (or the timeout passes), so that no rank loses the
     * store while reading rank 0's last values.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        worker.shutdown();
        try {
            worker.awaitTermination(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            if (world && failure == null) {
                StoreRendezvous.leave(control, name, rank, size(), timeout);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try {
                blocking.close();
                control.close();
            } catch (IOException e) {
                // already gone
            }
        }
    }


    @Override
    public String toString() {
        return "StoreCommunicator[" + name + ", rank " + rank + " of " + size() + "]";
    }
}
