package dev.panomni.parallel.comm;

import dev.panomni.tensor.Device;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * One rank of an {@link InProcessGroup}. Collectives run, in issue order, on this rank's own worker
 * thread, so ranks really run concurrently and a rank may queue several collectives before
 * awaiting them. Reductions add the ranks' values in rank order, so every rank gets bit-identical
 * results on every run.
 */
public final class InProcessCommunicator implements Communicator {
    /** Threads that wait for receivers to take sent buffers (blocking waits stay off the common pool). */
    private static final ExecutorService SEND_WAITERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "inprocess-send");
        t.setDaemon(true);
        return t;
    });

    private final InProcessGroup group;
    private final int rank;
    private final ExecutorService worker;
    private long seq;
    private final long[] sendSeq;
    private final long[] recvSeq;
    private final java.util.Map<String, Integer> subGroupCalls = new java.util.HashMap<>();

    InProcessCommunicator(InProcessGroup group, int rank) {
        this.group = group;
        this.rank = rank;
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, group.name() + "-rank" + rank);
            t.setDaemon(true);
            return t;
        });
        this.sendSeq = new long[group.size()];
        this.recvSeq = new long[group.size()];
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return group.size();
    }

    /** Breaks the group because this rank failed; every rank's pending and later collectives throw. */
    public void abort(Throwable cause) {
        group.breakGroup(rank, "failed: " + cause, cause);
    }

    private record Args(String op, Tensor a, Tensor b, long[] counts, int root, ReduceOp reduce) {
    }

    private Work submit(String op, Runnable body) {
        return futureWork(op, CompletableFuture.runAsync(body, worker));
    }

    private Work futureWork(String op, CompletableFuture<Void> f) {
        return new Work() {
            @Override
            public void await() {
                try {
                    f.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CollectiveException(op + " interrupted on rank " + rank, rank, e);
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException re) {
                        throw re;
                    }
                    throw new CollectiveException(op + " failed on rank " + rank, rank, e.getCause());
                }
            }

            @Override
            public boolean isDone() {
                return f.isDone();
            }
        };
    }

    /** Runs a rendezvous collective: deposit, check agreement, compute, wait for everyone. */
    private Work collective(Args args, Compute compute) {
        long mySeq = seq++;
        for (Tensor t : new Tensor[] {args.a, args.b}) {
            if (t != null) {
                checkHost(args.op, t);
            }
        }
        return submit(args.op, () -> {
            Rendezvous r = group.rendezvous(mySeq);
            try {
                r.arrive(rank, args, args.op);
                Args first = (Args) r.deposit(0);
                if (!first.op.equals(args.op)) {
                    group.breakGroup(rank, "called " + args.op + " while rank " + group.worldRank(0) + " called "
                            + first.op + " as collective #" + mySeq, null);
                    throw group.broken();
                }
                compute.run(r);
                r.phase(rank, 1, args.op);
                compute.finish();
            } catch (CollectiveException e) {
                throw e;
            } catch (RuntimeException e) {
                group.breakGroup(rank, "failed in " + args.op + ": " + e.getMessage(), e);
                throw group.broken();
            } finally {
                r.leave();
            }
        });
    }

    /** Per-rank work of a collective: read everyone's deposits, then publish after the barrier. */
    private interface Compute {
        void run(Rendezvous r);

        default void finish() {
        }
    }

    private static void checkHost(String op, Tensor t) {
        t.checkLive();
        if (t.device().type() != Device.Type.CPU) {
            throw new IllegalArgumentException(op + ": the in-process communicator moves host tensors, got "
                    + t.describe() + "; use the NCCL communicator for device tensors");
        }
        if (!t.isContiguous()) {
            throw new IllegalArgumentException(op + ": buffer " + t.describe() + " must be contiguous");
        }
    }

    private static long bytes(Tensor t) {
        return t.numel() * t.dtype().byteSize();
    }

    private void requireSame(String op, Args mine, Args other, int otherRank) {
        if (mine.a.dtype() != other.a.dtype() || mine.a.numel() != other.a.numel()) {
            String msg = "passed " + mine.a.describe() + " to " + op + " but rank " + group.worldRank(otherRank)
                    + " passed " + other.a.describe() + "; every rank must pass the same shape and dtype";
            group.breakGroup(rank, msg, null);
            throw group.broken();
        }
    }

    @Override
    public Work allReduce(Tensor t, ReduceOp op) {
        Args args = new Args("allReduce", t, null, null, -1, op);
        // The result goes to a private buffer first: t is read by the other ranks until all have
        // computed, and is overwritten only after the barrier (finish).
        MemorySegment[] result = new MemorySegment[1];
        return collective(args, new Compute() {
            @Override
            public void run(Rendezvous r) {
                List<MemorySegment> inputs = new ArrayList<>();
                for (int i = 0; i < r.size(); i++) {
                    Args o = (Args) r.deposit(i);
                    requireSame("allReduce", args, o, i);
                    inputs.add(o.a.data());
                }
                int count = Math.toIntExact(t.numel());
                result[0] = MemorySegment.ofArray(new long[(int) ((bytes(t) + 7) / 8)]);
                HostReduce.reduce(t.dtype(), op, inputs, 0, count, result[0]);
            }

            @Override
            public void finish() {
                MemorySegment.copy(result[0], 0, t.data(), 0, bytes(t));
            }
        });
    }

    @Override
    public Work allGather(Tensor input, Tensor output) {
        checkMultiple("allGather", output, input, size());
        Args args = new Args("allGather", input, output, null, -1, null);
        return collective(args, r -> {
            long chunk = bytes(input);
            for (int i = 0; i < r.size(); i++) {
                Args o = (Args) r.deposit(i);
                requireSame("allGather", args, o, i);
                MemorySegment.copy(o.a.data(), 0, output.data(), i * chunk, chunk);
            }
        });
    }

    @Override
    public Work reduceScatter(Tensor input, Tensor output, ReduceOp op) {
        checkMultiple("reduceScatter", input, output, size());
        Args args = new Args("reduceScatter", input, output, null, -1, op);
        return collective(args, r -> {
            List<MemorySegment> inputs = new ArrayList<>();
            for (int i = 0; i < r.size(); i++) {
                Args o = (Args) r.deposit(i);
                requireSame("reduceScatter", args, o, i);
                inputs.add(o.a.data());
            }
            int count = Math.toIntExact(output.numel());
            HostReduce.reduce(output.dtype(), op, inputs, (long) rank * count, count, output.data());
        });
    }

    @Override
    public Work allToAll(Tensor input, long[] sendCounts, Tensor output, long[] recvCounts) {
        int n = size();
        if (sendCounts.length != n || recvCounts.length != n) {
            throw new IllegalArgumentException("allToAll: send and receive counts need one entry per rank (" + n
                    + "), got " + sendCounts.length + " and " + recvCounts.length);
        }
        long rowIn = AllToAllSplits.rowElements(input);
        long rowOut = AllToAllSplits.rowElements(output);
        if (Arrays.stream(sendCounts).sum() > input.size(0) || Arrays.stream(recvCounts).sum() > output.size(0)) {
            throw new IllegalArgumentException("allToAll: counts " + Arrays.toString(sendCounts) + " / "
                    + Arrays.toString(recvCounts) + " exceed the rows of input " + Shapes.str(input.shape())
                    + " or output " + Shapes.str(output.shape()));
        }
        Args args = new Args("allToAll", input, output, sendCounts.clone(), -1, null);
        long[] recv = recvCounts.clone();
        return collective(args, r -> {
            long es = output.dtype().byteSize();
            long dstRow = 0;
            for (int j = 0; j < n; j++) {
                Args o = (Args) r.deposit(j);
                if (o.a.dtype() != output.dtype() || AllToAllSplits.rowElements(o.a) != rowOut || rowIn != rowOut) {
                    group.breakGroup(rank, "allToAll: rank " + group.worldRank(j) + " sends rows of "
                            + o.a.describe() + " but this rank receives into " + output.describe(), null);
                    throw group.broken();
                }
                long offset = 0;
                for (int k = 0; k < rank; k++) {
                    offset += o.counts[k];
                }
                long rows = o.counts[rank];
                if (rows != recv[j]) {
                    group.breakGroup(rank, "allToAll: expects " + recv[j] + " rows from rank " + group.worldRank(j)
                            + ", which sends " + rows, null);
                    throw group.broken();
                }
                MemorySegment.copy(o.a.data(), offset * rowOut * es, output.data(), dstRow * rowOut * es, rows * rowOut * es);
                dstRow += rows;
            }
        });
    }

    @Override
    public Work broadcast(Tensor t, int root) {
        Args args = new Args("broadcast", t, null, null, root, null);
        return collective(args, r -> {
            Args src = (Args) r.deposit(root);
            requireSame("broadcast", args, src, root);
            if (rank != root) {
                MemorySegment.copy(src.a.data(), 0, t.data(), 0, bytes(t));
            }
        });
    }

    @Override
    public Work send(Tensor t, int peer) {
        checkHost("send", t);
        long s = sendSeq[peer]++;
        // Deposit at once rather than on the worker: a ring of sends followed by receives must not
        // deadlock (as NCCL's grouped send/recv does not). The work completes when the peer has copied.
        InProcessGroup.Mailbox box = group.mailbox(rank, peer, s);
        synchronized (box) {
            box.payload = t;
            box.notifyAll();
        }
        CompletableFuture<Void> f = CompletableFuture.runAsync(() -> {
            synchronized (box) {
                awaitCondition(box, () -> box.taken, "send to rank " + group.worldRank(peer), peer);
            }
            group.dropMailbox(rank, peer, s);
        }, SEND_WAITERS);
        return futureWork("send", f);
    }

    @Override
    public Work recv(Tensor t, int peer) {
        checkHost("recv", t);
        long s = recvSeq[peer]++;
        return submit("recv", () -> {
            InProcessGroup.Mailbox box = group.mailbox(peer, rank, s);
            synchronized (box) {
                awaitCondition(box, () -> box.payload != null, "recv from rank " + group.worldRank(peer), peer);
                Tensor src = (Tensor) box.payload;
                if (src.dtype() != t.dtype() || src.numel() != t.numel()) {
                    group.breakGroup(rank, "recv into " + t.describe() + " but rank " + group.worldRank(peer)
                            + " sent " + src.describe(), null);
                    throw group.broken();
                }
                MemorySegment.copy(src.data(), 0, t.data(), 0, bytes(t));
                box.taken = true;
                box.notifyAll();
            }
        });
    }

    private void awaitCondition(Object lock, java.util.function.BooleanSupplier done, String what, int peer) {
        long deadline = System.currentTimeMillis() + group.timeoutMillis();
        while (!done.getAsBoolean()) {
            if (group.broken() != null) {
                throw group.broken();
            }
            long wait = deadline - System.currentTimeMillis();
            if (wait <= 0) {
                group.breakGroup(peer, "did not complete the " + what + " within " + group.timeoutMillis() + " ms", null);
                throw group.broken();
            }
            try {
                lock.wait(Math.min(wait, 100));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CollectiveException(what + " interrupted", rank, e);
            }
        }
    }

    @Override
    public void barrier() {
        try (var scope = dev.panomni.tensor.Scope.open("barrier")) {
            Tensor one = Tensor.zeros(1);
            allReduce(one, ReduceOp.SUM).await();
        }
    }

    @Override
    public Communicator subGroup(int[] ranks) {
        int mine = -1;
        for (int i = 0; i < ranks.length; i++) {
            if (ranks[i] == rank) {
                mine = i;
            }
            if (ranks[i] < 0 || ranks[i] >= size()) {
                throw new IllegalArgumentException("subGroup: rank " + ranks[i] + " is not in a group of " + size());
            }
        }
        if (mine < 0) {
            throw new IllegalArgumentException("subGroup: rank " + rank + " is not a member of " + Arrays.toString(ranks));
        }
        int nth = subGroupCalls.merge(Arrays.toString(ranks), 1, Integer::sum) - 1;
        return new InProcessCommunicator(group.subGroup(ranks, nth), mine);
    }

    @Override
    public void close() {
        worker.shutdown();
    }


    private static void checkMultiple(String op, Tensor big, Tensor small, int n) {
        if (big.dtype() != small.dtype() || big.numel() != small.numel() * n) {
            throw new IllegalArgumentException(op + ": the large buffer " + big.describe() + " must hold " + n
                    + " x the per-rank buffer " + small.describe());
        }
    }
}
