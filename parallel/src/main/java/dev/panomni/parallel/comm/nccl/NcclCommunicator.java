package dev.panomni.parallel.comm.nccl;

import dev.panomni.bindings.NativeLibrary;
import dev.panomni.bindings.nccl.Nccl;
import dev.panomni.bindings.nccl.NcclException;
import dev.panomni.bindings.nccl.NcclStatus;
import dev.panomni.bindings.nccl.ncclResult_t;
import dev.panomni.bindings.nccl.ncclUniqueId;
import dev.panomni.kernels.runtime.CudaDevice;
import dev.panomni.kernels.runtime.CudaEvent;
import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.kernels.runtime.KernelProfile;
import dev.panomni.parallel.comm.AllToAllSplits;
import dev.panomni.parallel.comm.CollectiveException;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.ReduceOp;
import dev.panomni.parallel.comm.Work;
import dev.panomni.parallel.launch.KeyValueStore;
import dev.panomni.parallel.launch.StoreRendezvous;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Storage;
import dev.panomni.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.IntStream;

/**
 * Collectives between GPUs through NCCL, one communicator per rank and device.
 *
 * <p><b>Creation.</b> {@link #create} joins the ranks through the rendezvous {@link KeyValueStore}
 * (every rank announces itself first, so a missing rank is named after the rendezvous timeout
 * instead of hanging in NCCL's bootstrap), rank 0 publishes {@code ncclGetUniqueId}'s id, and
 * every rank calls {@code ncclCommInitRank} on its device. {@link #subGroup} does the same for the
 * members of the sub-group, under a key naming its ranks ({@code ncclCommSplit} is not in the
 * generated bindings). NCCL refuses two ranks of one communicator on the same GPU
 * ({@code ncclInvalidUsage}): one rank per device.
 *
 * <p><b>Streams.</b> Each communicator has its own communication stream. A collective first makes
 * that stream wait (an event, no host wait) for the work queued so far on the device's compute
 * stream, which produced its buffers; it then runs there, and {@link Work#await()} makes the
 * compute stream wait for it in turn. {@link Work#awaitHost()} blocks the calling thread instead.
 * The buffers' storages stay retained until the collective has finished, so closing a tensor early
 * cannot hand its memory to another allocation while NCCL still uses it.
 *
 * <p><b>Failures.</b> Buffers must be contiguous tensors on this rank's device
 * ({@link IllegalArgumentException} otherwise). NCCL cannot tell when ranks pass different shapes:
 * the collective then hangs or corrupts, and the timeout ends it. A process-wide watchdog polls
 * {@code ncclCommGetAsyncError} while work is in flight and calls {@code ncclCommAbort} when a
 * collective outlives {@link NcclOptions#timeout()} or NCCL reports an error; from then on every
 * call and every wait throws a {@link CollectiveException} naming the group, this rank and the
 * collective (with {@link NcclOptions#haltOnFailure()} the process exits instead, so that the
 * launcher stops the job).
 *
 * <p><b>NVLink SHARP.</b> Launched processes run with {@code NCCL_NVLS_ENABLE=0}
 * ({@link dev.panomni.parallel.launch.ProcessLauncher} sets it unless the environment does): NVLink
 * multicast must stay off on the shared GPU hosts this project runs on.
 *
 * <p>Threads: one thread issues a communicator's collectives (its rank's thread); waits may come
 * from any thread.
 */
public final class NcclCommunicator implements Communicator {
    private final String name;
    private final int rank;
    private final int[] worldRanks;
    private final CudaDevice device;
    private final NcclOptions options;
    private final KeyValueStore store;
    private final boolean ownsStore;
    private final MemorySegment comm;
    private final CudaStream stream;
    private final CudaEvent ready;
    private final CudaEvent p2pReady;
    private final ArrayDeque<CudaEvent> freeEvents = new ArrayDeque<>();
    private final ConcurrentLinkedQueue<NcclCompletion> inFlight = new ConcurrentLinkedQueue<>();
    private final List<PendingP2p> pending = new ArrayList<>();
    private final Map<String, Integer> subGroupCalls = new HashMap<>();
    private final Object state = new Object();
    private final MemorySegment asyncError = Arena.global().allocate(ValueLayout.JAVA_INT);
    private volatile CollectiveException failure;
    private volatile boolean aborted;
    /**
     * Held around every NCCL call that enqueues work on {@code comm}: NCCL allows one thread at a time
     * on a communicator, and {@code ncclCommAbort} frees it, so an abort from another thread (the
     * watchdog, a failing peer, a benchmark's teardown) waits here for an enqueue in progress.
     */
    private final ReentrantLock enqueue = new ReentrantLock();
    /** How long an abort waits for an enqueue in progress before aborting anyway (a call stuck in NCCL). */
    private static final long ABORT_WAIT_SECONDS = 10;
    private boolean destroyed;
    private volatile boolean closed;
    private long seq;

    /** A send or receive held back until its group is issued. */
    private record PendingP2p(boolean send, long address, long count, int dtype, int peer, Storage storage,
                              NcclWork work) {
    }

    private NcclCommunicator(String name, int rank, int[] worldRanks, CudaDevice device, MemorySegment comm,
                             NcclOptions options, KeyValueStore store, boolean ownsStore) {
        this.name = name;
        this.rank = rank;
        this.worldRanks = worldRanks.clone();
        this.device = device;
        this.comm = comm;
        this.options = options;
        this.store = store;
        this.ownsStore = ownsStore;
        this.stream = device.newStream("nccl " + name);
        this.ready = device.newEvent(false);
        this.p2pReady = device.newEvent(false);
        NcclWatchdog.INSTANCE.register(this);
    }

    /**
     * Joins a group of {@code size} ranks as rank {@code rank}, on {@code device}.
     *
     * @param store     the rendezvous store every rank reaches (may be null when {@code size} is 1)
     * @param ownsStore whether {@link #close()} closes the store too (the world communicator of a
     *                  launched rank owns the connection it was created with)
     * @throws CollectiveException   when the ranks do not all join within the rendezvous timeout
     * @throws IllegalStateException when CUDA or NCCL is not usable here
     */
    public static NcclCommunicator create(int rank, int size, Device device, KeyValueStore store, boolean ownsStore,
                                          NcclOptions options) {
        if (size < 1 || rank < 0 || rank >= size) {
            throw new IllegalArgumentException("NCCL communicator: rank " + rank + " is not in [0, " + size + ")");
        }
        CudaDevice cuda = requireNccl(device);
        if (size > 1 && store == null) {
            throw new IllegalArgumentException("NCCL communicator of " + size + " ranks: the ranks exchange NCCL's "
                    + "unique id through a rendezvous store, and none was given");
        }
        int[] ranks = IntStream.range(0, size).toArray();
        String name;
        byte[] id;
        if (size == 1) {
            name = "nccl/world";
            id = newUniqueId();
        } else {
            try {
                name = StoreRendezvous.nextWorldName(store, "nccl", rank);
            } catch (IOException e) {
                throw new CollectiveException("NCCL rendezvous: rank " + rank + " could not use the store: "
                        + e.getMessage(), rank, e);
            }
            StoreRendezvous.join(store, name, rank, ranks, options.rendezvousTimeout());
            id = StoreRendezvous.share(store, name, "unique-id", rank, rank == 0 ? newUniqueId() : null, 0,
                    options.rendezvousTimeout());
        }
        return init(name, rank, ranks, cuda, id, options, store, ownsStore);
    }

    /** Whether NCCL and a CUDA device can be used here (never throws). */
    public static boolean isAvailable() {
        try {
            return CudaRuntime.isAvailable() && NativeLibrary.NCCL.isAvailable();
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** NCCL's version as {@code ncclGetVersion} reports it (e.g. 22803 for 2.28.3). */
    public static int version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            NcclStatus.check(Nccl.ncclGetVersion(v), "ncclGetVersion");
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    private static CudaDevice requireNccl(Device device) {
        if (device.type() != Device.Type.CUDA) {
            throw new IllegalArgumentException("an NCCL communicator moves CUDA tensors; got device " + device
                    + " (host tensors go through the in-process or store communicator)");
        }
        if (!CudaRuntime.isAvailable()) {
            throw new IllegalStateException("NCCL communicator on " + device + ": CUDA is not usable here: "
                    + CudaRuntime.unavailableReason());
        }
        if (!NativeLibrary.NCCL.isAvailable()) {
            throw new IllegalStateException("NCCL communicator on " + device + ": NCCL (libnccl.so.2) was not found. "
                    + "Install NCCL (apt: libnccl2), or point Panomni at it with PANOMNI_NCCL_LIB=PATH; "
                    + "`panomni doctor --verbose` lists where it looked");
        }
        return CudaRuntime.device(device);
    }

    private static byte[] newUniqueId() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment id = ncclUniqueId.allocate(a);
            NcclStatus.check(Nccl.ncclGetUniqueId(id), "ncclGetUniqueId");
            return id.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    private static NcclCommunicator init(String name, int rank, int[] worldRanks, CudaDevice device, byte[] id,
                                         NcclOptions options, KeyValueStore store, boolean ownsStore) {
        MemorySegment handle;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment uid = ncclUniqueId.allocate(a);
            uid.copyFrom(MemorySegment.ofArray(id));
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            device.makeCurrent();   // ncclCommInitRank binds the communicator to the current device
            int rc = Nccl.ncclCommInitRank(out, worldRanks.length, uid, rank);
            if (rc != ncclResult_t.ncclSuccess) {
                NcclException e = NcclStatus.exception(rc, "ncclCommInitRank(" + worldRanks.length + " ranks, rank "
                        + rank + ", cuda:" + device.ordinal() + ")", MemorySegment.NULL);
                throw new CollectiveException("group " + name + ": rank " + worldRanks[rank] + " could not create its "
                        + "NCCL communicator on cuda:" + device.ordinal() + ": " + e.getMessage()
                        + (rc == ncclResult_t.ncclInvalidUsage ? " (two ranks on one GPU? NCCL needs one device per rank)"
                        : ""), worldRanks[rank], e);
            }
            handle = out.get(ValueLayout.ADDRESS, 0);
        }
        return new NcclCommunicator(name, rank, worldRanks, device, handle, options, store, ownsStore);
    }

    // ---------------------------------------------------------------- accessors

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return worldRanks.length;
    }

    /** The device this rank's buffers live on. */
    public Device device() {
        return device.device();
    }

    CudaDevice cudaDevice() {
        return device;
    }

    /** The stream the collectives run on (for benchmarks that time them with events). */
    public CudaStream communicationStream() {
        return stream;
    }

    /** The group's name in messages and store keys, e.g. {@code nccl/world#0/[0,2]#0}. */
    public String name() {
        return name;
    }

    /** The failure that ended this communicator, or null while it is healthy. */
    public CollectiveException failure() {
        return failure;
    }

    boolean hasFailed() {
        return failure != null;
    }

    // ---------------------------------------------------------------- checks and failures

    private String who() {
        return "group " + name + ": rank " + worldRanks[rank] + " (cuda:" + device.ordinal() + ")";
    }

    private void checkBuffer(String op, Tensor t) {
        t.checkLive();
        if (!t.device().equals(device.device())) {
            throw new IllegalArgumentException(op + ": the NCCL communicator of rank " + worldRanks[rank] + " moves "
                    + "tensors on cuda:" + device.ordinal() + ", got " + t.describe()
                    + (t.device().type() == Device.Type.CPU ? "; copy it to the GPU first (Layout.toDevice)"
                    : "; each rank uses its own device"));
        }
        if (!t.isContiguous()) {
            throw new IllegalArgumentException(op + ": buffer " + t.describe() + " must be contiguous (strides "
                    + Arrays.toString(t.strides()) + "); call contiguous() first");
        }
    }

    private void checkPeer(String op, int peer) {
        if (peer < 0 || peer >= size()) {
            throw new IllegalArgumentException(op + ": rank " + peer + " is not in a group of " + size());
        }
    }

    private void checkUsable(String op) {
        throwIfFailed(op);
        if (closed) {
            throw new IllegalStateException(op + ": the NCCL communicator of " + who() + " is closed");
        }
    }

    void throwIfFailed(String what) {
        CollectiveException f = failure;
        if (f != null) {
            throw new CollectiveException(f.getMessage() + " [" + what + " on rank " + worldRanks[rank] + " refused]",
                    f.failedRank(), f);
        }
    }

    /**
     * Marks the communicator failed and aborts it (once). {@code fatal} failures (timeouts,
     * asynchronous errors) end the process when {@link NcclOptions#haltOnFailure()} is set.
     */
    private CollectiveException fail(String why, int failedRank, Throwable cause, boolean fatal) {
        CollectiveException e;
        synchronized (state) {
            if (failure != null) {
                return failure;
            }
            e = new CollectiveException(who() + ": " + why, failedRank, cause);
            failure = e;
            if (!aborted && !destroyed) {
                aborted = true;
                abortWhenNoEnqueue();
            }
        }
        if (fatal && options.haltOnFailure()) {
            System.err.println("panomni: " + e.getMessage() + "; NCCL communicator aborted, exiting so that the "
                    + "launcher stops the job");
            System.err.flush();
            Runtime.getRuntime().halt(1);
        }
        return e;
    }

    /**
     * Runs NCCL calls that enqueue work on {@code comm} under the {@link #enqueue} lock, or refuses
     * them (ncclInvalidUsage) once the communicator was aborted.
     */
    private int enqueued(java.util.function.IntSupplier calls) {
        enqueue.lock();
        try {
            return aborted ? ncclResult_t.ncclInvalidUsage : calls.getAsInt();
        } finally {
            enqueue.unlock();
        }
    }

    /**
     * {@code ncclCommAbort}, once no other thread is inside an NCCL call on this communicator (or, when
     * one stays inside past {@link #ABORT_WAIT_SECONDS}, anyway: a call stuck in NCCL is what an abort
     * is for, and waiting longer would hang the caller with it).
     */
    private void abortWhenNoEnqueue() {
        boolean locked = false;
        try {
            locked = enqueue.tryLock(ABORT_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (!locked) {
                System.err.println("panomni: " + who() + ": an NCCL call on another thread did not return within "
                        + ABORT_WAIT_SECONDS + " s; aborting the communicator under it");
            }
            device.makeCurrent();
            Nccl.ncclCommAbort(comm);
        } finally {
            if (locked) {
                enqueue.unlock();
            }
        }
    }

    /**
     * Ends this communicator from outside (another rank failed, a benchmark stops its loop):
     * {@code ncclCommAbort}, and every pending and later call or wait throws a
     * {@link CollectiveException} naming this rank and {@code why}.
     */
    public void abort(String why) {
        fail("aborted: " + why, worldRanks[rank], null, false);
    }

    private CollectiveException failedCall(String op, int rc) {
        NcclException e = NcclStatus.exception(rc, op, comm);
        return fail(op + " failed: " + e.getMessage(), worldRanks[rank], e, false);
    }

    /**
     * One look at the work in flight (the watchdog's, and waiting threads' between polls): releases
     * finished work, checks NCCL's asynchronous error, and aborts on a timeout.
     *
     * @return whether work is still in flight
     */
    boolean watch(long now) {
        if (failure != null || destroyed) {
            return false;
        }
        Iterator<NcclCompletion> it = inFlight.iterator();
        while (it.hasNext()) {
            NcclCompletion c = it.next();
            if (c.poll()) {
                it.remove();
                continue;
            }
            long age = now - c.issuedNanos();
            if (age > options.timeout().toNanos()) {
                fail(c.label() + " did not complete within " + options.timeout().toMillis() + " ms (a peer rank died, "
                        + "hangs or called a different collective); NCCL communicator aborted", -1, null, true);
                return false;
            }
            break;  // work on one stream finishes in order: the rest is younger and unfinished
        }
        if (inFlight.isEmpty()) {
            return false;
        }
        int async;
        synchronized (state) {
            if (aborted || destroyed) {
                return false;
            }
            int rc = Nccl.ncclCommGetAsyncError(comm, asyncError);
            async = rc != ncclResult_t.ncclSuccess ? rc : asyncError.get(ValueLayout.JAVA_INT, 0);
        }
        if (async != ncclResult_t.ncclSuccess && async != ncclResult_t.ncclInProgress) {
            NcclException e = NcclStatus.exception(async, "ncclCommGetAsyncError", MemorySegment.NULL);
            fail("NCCL reported an asynchronous error while " + inFlight.peek() + " was in flight: " + e.getMessage()
                    + "; NCCL communicator aborted", -1, e, true);
            return false;
        }
        return true;
    }

    // ---------------------------------------------------------------- issuing

    @FunctionalInterface
    private interface NcclCall {
        /** Issues the NCCL call(s) on {@code stream}; returns the ncclResult_t. */
        int run(MemorySegment stream);
    }

    private static List<Storage> retain(Tensor... buffers) {
        List<Storage> out = new ArrayList<>(buffers.length);
        for (Tensor t : buffers) {
            Storage s = t.storage();
            if (!out.contains(s)) {
                s.retain();
                out.add(s);
            }
        }
        return out;
    }

    private CudaEvent takeEvent() {
        synchronized (freeEvents) {
            CudaEvent e = freeEvents.poll();
            return e != null ? e : device.newEvent(false);
        }
    }

    private void recycle(CudaEvent e) {
        synchronized (freeEvents) {
            if (closed) {
                e.close();
            } else {
                freeEvents.push(e);
            }
        }
    }

    /**
     * Issues {@code call} on the communication stream after the compute stream's queued work, and
     * records its completion.
     */
    private synchronized Work issue(String op, NcclCall call, Tensor... buffers) {
        checkUsable(op);
        flushLocked();
        String label = op + " #" + seq++;
        NcclCompletion c = new NcclCompletion(label, retain(buffers), this::recycle);
        inFlight.add(c);
        device.makeCurrent();
        ready.record(device.computeStream());
        stream.waitEvent(ready);
        // Profiled, a collective's time runs from its buffers being ready to its end: it includes the
        // wait for the slowest peer, which is what a step loses to it when nothing overlaps.
        Object timing = KernelProfile.ENABLED ? KernelProfile.begin(stream, "nccl " + op + " (" + name + ")") : null;
        int rc = enqueued(() -> call.run(stream.handle()));
        if (timing != null) {
            KernelProfile.end(stream, timing);
        }
        if (rc != ncclResult_t.ncclSuccess) {
            throw failedCall(label, rc);
        }
        CudaEvent e = takeEvent();
        e.record(stream);
        c.attach(e);
        NcclWatchdog.INSTANCE.wake();
        return new NcclWork(this, label, c);
    }

    private static MemorySegment ptr(Tensor t) {
        return MemorySegment.ofAddress(t.numel() == 0 ? 0 : CudaTensors.address(t));
    }

    // ---------------------------------------------------------------- collectives

    @Override
    public Work allReduce(Tensor t, ReduceOp op) {
        checkBuffer("allReduce", t);
        int dt = NcclDataTypes.of(t.dtype());
        int red = NcclDataTypes.of(op);
        return issue("allReduce", s -> t.numel() == 0 ? ncclResult_t.ncclSuccess
                : Nccl.ncclAllReduce(ptr(t), ptr(t), t.numel(), dt, red, comm, s), t);
    }

    @Override
    public Work allGather(Tensor input, Tensor output) {
        checkBuffer("allGather", input);
        checkBuffer("allGather", output);
        checkMultiple("allGather", output, input);
        int dt = NcclDataTypes.of(input.dtype());
        return issue("allGather", s -> input.numel() == 0 ? ncclResult_t.ncclSuccess
                : Nccl.ncclAllGather(ptr(input), ptr(output), input.numel(), dt, comm, s), input, output);
    }

    @Override
    public Work reduceScatter(Tensor input, Tensor output, ReduceOp op) {
        checkBuffer("reduceScatter", input);
        checkBuffer("reduceScatter", output);
        checkMultiple("reduceScatter", input, output);
        int dt = NcclDataTypes.of(output.dtype());
        int red = NcclDataTypes.of(op);
        return issue("reduceScatter", s -> output.numel() == 0 ? ncclResult_t.ncclSuccess
                : Nccl.ncclReduceScatter(ptr(input), ptr(output), output.numel(), dt, red, comm, s), input, output);
    }

    @Override
    public Work broadcast(Tensor t, int root) {
        checkBuffer("broadcast", t);
        checkPeer("broadcast", root);
        int dt = NcclDataTypes.of(t.dtype());
        return issue("broadcast", s -> t.numel() == 0 ? ncclResult_t.ncclSuccess
                : Nccl.ncclBroadcast(ptr(t), ptr(t), t.numel(), dt, root, comm, s), t);
    }

    /**
     * One NCCL group of a send and a receive per peer with rows to exchange (as torch's
     * {@code all_to_all_single} does; NCCL has no all-to-all of its own).
     */
    @Override
    public Work allToAll(Tensor input, long[] sendCounts, Tensor output, long[] recvCounts) {
        checkBuffer("allToAll", input);
        checkBuffer("allToAll", output);
        int n = size();
        AllToAllSplits.check(input, sendCounts, output, recvCounts, n);
        long row = AllToAllSplits.rowElements(input);
        long[] send = sendCounts.clone();
        long[] recv = recvCounts.clone();
        int dt = NcclDataTypes.of(input.dtype());
        long rowBytes = row * input.dtype().byteSize();
        return issue("allToAll", s -> {
            long in = input.numel() == 0 ? 0 : CudaTensors.address(input);
            long out = output.numel() == 0 ? 0 : CudaTensors.address(output);
            int rc = Nccl.ncclGroupStart();
            if (rc != ncclResult_t.ncclSuccess) {
                return rc;
            }
            int first = ncclResult_t.ncclSuccess;
            long sendOff = 0;
            long recvOff = 0;
            for (int j = 0; j < n; j++) {
                if (send[j] > 0 && first == ncclResult_t.ncclSuccess) {
                    first = Nccl.ncclSend(MemorySegment.ofAddress(in + sendOff * rowBytes), send[j] * row, dt, j, comm, s);
                }
                if (recv[j] > 0 && first == ncclResult_t.ncclSuccess) {
                    first = Nccl.ncclRecv(MemorySegment.ofAddress(out + recvOff * rowBytes), recv[j] * row, dt, j, comm, s);
                }
                sendOff += send[j];
                recvOff += recv[j];
            }
            rc = Nccl.ncclGroupEnd();
            return first != ncclResult_t.ncclSuccess ? first : rc;
        }, input, output);
    }

    @Override
    public Work send(Tensor t, int peer) {
        return holdBack(true, t, peer);
    }

    @Override
    public Work recv(Tensor t, int peer) {
        return holdBack(false, t, peer);
    }

    private synchronized Work holdBack(boolean send, Tensor t, int peer) {
        String op = send ? "send" : "recv";
        checkBuffer(op, t);
        checkPeer(op, peer);
        checkUsable(op);
        device.makeCurrent();
        // The group waits for the compute work queued up to its last send/recv, which covers every buffer in it.
        p2pReady.record(device.computeStream());
        Storage s = t.storage();
        s.retain();
        NcclWork w = new NcclWork(this, op + (send ? " to rank " : " from rank ") + worldRanks[peer], null);
        pending.add(new PendingP2p(send, t.numel() == 0 ? 0 : CudaTensors.address(t), t.numel(),
                NcclDataTypes.of(t.dtype()), peer, s, w));
        return w;
    }

    /** Issues the held-back sends and receives (when {@code w} is one of them and not yet issued). */
    synchronized void flushFor(NcclWork w) {
        if (!w.isIssued()) {
            checkUsable(w.label());
            flushLocked();
        }
    }

    private void flushLocked() {
        if (pending.isEmpty()) {
            return;
        }
        List<PendingP2p> batch = List.copyOf(pending);
        pending.clear();
        List<Storage> storages = new ArrayList<>();
        for (PendingP2p p : batch) {
            storages.add(p.storage());
        }
        String label = "send/recv group #" + seq++ + " (" + batch.size() + " ops)";
        NcclCompletion c = new NcclCompletion(label, storages, this::recycle);
        inFlight.add(c);
        for (PendingP2p p : batch) {
            p.work().bind(c);
        }
        device.makeCurrent();
        stream.waitEvent(p2pReady);
        MemorySegment s = stream.handle();
        int result = enqueued(() -> {
            int rc = Nccl.ncclGroupStart();
            int first = rc;
            for (PendingP2p p : batch) {
                if (first != ncclResult_t.ncclSuccess || p.count() == 0) {
                    continue;
                }
                first = p.send()
                        ? Nccl.ncclSend(MemorySegment.ofAddress(p.address()), p.count(), p.dtype(), p.peer(), comm, s)
                        : Nccl.ncclRecv(MemorySegment.ofAddress(p.address()), p.count(), p.dtype(), p.peer(), comm, s);
            }
            if (rc == ncclResult_t.ncclSuccess) {
                rc = Nccl.ncclGroupEnd();
            }
            return first != ncclResult_t.ncclSuccess ? first : rc;
        });
        if (result != ncclResult_t.ncclSuccess) {
            throw failedCall(label, result);
        }
        CudaEvent e = takeEvent();
        e.record(stream);
        c.attach(e);
        NcclWatchdog.INSTANCE.wake();
    }

    /** An all-reduce of one element, waited for on the host: NCCL has no barrier of its own. */
    @Override
    public void barrier() {
        try (Scope s = Scope.open("nccl.barrier")) {
            Tensor one = Tensor.zeros(DType.F32, device.device(), 1);
            allReduce(one, ReduceOp.SUM).awaitHost();
        }
    }

    @Override
    public Communicator subGroup(int[] ranks) {
        int mine = -1;
        for (int i = 0; i < ranks.length; i++) {
            checkPeer("subGroup", ranks[i]);
            if (ranks[i] == rank) {
                mine = i;
            }
        }
        if (mine < 0) {
            throw new IllegalArgumentException("subGroup: rank " + rank + " is not a member of " + Arrays.toString(ranks));
        }
        checkUsable("subGroup");
        int[] members = Arrays.stream(ranks).map(r -> worldRanks[r]).toArray();
        int nth;
        synchronized (this) {
            nth = subGroupCalls.merge(Arrays.toString(ranks), 1, Integer::sum) - 1;
        }
        String group = name + "/" + Arrays.toString(members).replace(" ", "") + "#" + nth;
        byte[] id;
        if (ranks.length == 1) {
            id = newUniqueId();
        } else {
            if (store == null) {
                throw new IllegalStateException("subGroup " + Arrays.toString(members) + " of " + who()
                        + ": sub-groups of several ranks meet through the rendezvous store, and this communicator has none");
            }
            StoreRendezvous.join(store, group, mine, members, options.rendezvousTimeout());
            id = StoreRendezvous.share(store, group, "unique-id", mine, mine == 0 ? newUniqueId() : null, members[0],
                    options.rendezvousTimeout());
        }
        return init(group, mine, members, device, id, options, store, false);
    }

    /**
     * Issues held-back sends and receives, waits for the work in flight (bounded by the timeout),
     * then destroys the NCCL communicator ({@code ncclCommDestroy}; nothing to destroy after an
     * abort), its stream and events, and the store connection it owns.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            if (failure == null) {
                try {
                    flushLocked();
                } catch (CollectiveException e) {
                    // recorded as the failure; close anyway
                }
            }
            closed = true;
        }
        long lastWatch = 0;
        while (failure == null && !inFlight.isEmpty()) {
            long now = System.nanoTime();
            if (now - lastWatch > 1_000_000) {
                watch(now);
                lastWatch = now;
            }
            LockSupport.parkNanos(50_000);
        }
        NcclWatchdog.INSTANCE.unregister(this);
        synchronized (state) {
            if (!aborted && !destroyed) {
                device.makeCurrent();
                int rc = Nccl.ncclCommDestroy(comm);
                destroyed = true;
                if (rc != ncclResult_t.ncclSuccess) {
                    System.err.println("panomni: ncclCommDestroy of " + who() + " returned " + ncclResult_t.nameOf(rc));
                }
            }
            destroyed = true;
        }
        for (NcclCompletion c : inFlight) {
            c.discard();
        }
        synchronized (freeEvents) {
            freeEvents.forEach(CudaEvent::close);
            freeEvents.clear();
        }
        ready.close();
        p2pReady.close();
        stream.close();
        if (ownsStore && store != null) {
            if (failure == null) {
                StoreRendezvous.leave(store, name, rank, size(), options.rendezvousTimeout());
            }
            try {
                store.close();
            } catch (IOException e) {
                // gone already
            }
        }
    }



    private void checkMultiple(String op, Tensor big, Tensor small) {
        int n = size();
        if (big.dtype() != small.dtype() || big.numel() != small.numel() * n) {
            throw new IllegalArgumentException(op + ": the large buffer " + big.describe() + " must hold " + n
                    + " x the per-rank buffer " + small.describe());
        }
    }

    @Override
    public String toString() {
        return "NcclCommunicator[" + name + ", rank " + rank + " of " + size() + ", cuda:" + device.ordinal() + "]";
    }
}
