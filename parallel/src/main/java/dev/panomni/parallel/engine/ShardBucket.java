package dev.panomni.parallel.engine;

import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.ReduceOp;
import dev.panomni.parallel.comm.Work;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.Layout;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parameters of one FSDP unit that share a shard group (and a replicate group): they are
 * gathered with one all-gather and their gradients reduced with one reduce-scatter.
 *
 * <p>Per-rank buffer layout: the shards of the bucket's parameters back to back ({@code perRank}
 * elements); the gathered buffer is {@code groupSize} such blocks in rank order, from which each
 * parameter's region is copied out (rank i's block holds its rows). Gradients take the reverse path:
 * each region gradient is copied, zero-padded, into a [groupSize * perRank] buffer whose rank-i block
 * holds rank i's rows, and reduce-scattered (sum) so each rank receives the sum of its rows.
 *
 * <p>Buffers in flight are owned by no scope (they outlive the scopes of the forward and backward
 * calls that start and finish them) and are closed here once the collective is done.
 */
final class ShardBucket {
    private final Communicator shardGroup;      // null: a group of one (replicated parameters)
    private final Communicator replicateGroup;  // null when there is nothing to all-reduce over
    private final List<ShardedParameter> params = new ArrayList<>();
    private final Device device;
    private long perRank;

    private Tensor gatherSend;
    private Tensor gatherRecv;
    private Work gatherWork;
    private DType gatherDtype;

    private Tensor reduceIn;
    private Tensor reduceOut;
    private Work reduceWork;
    private Work replicateWork;

    ShardBucket(Communicator shardGroup, Communicator replicateGroup, Device device) {
        this.shardGroup = shardGroup;
        this.replicateGroup = replicateGroup != null && replicateGroup.size() > 1 ? replicateGroup : null;
        this.device = device;
    }

    void add(ShardedParameter p) {
        p.bucketOffset(perRank);
        perRank += p.layout().shardElements();
        params.add(p);
    }

    List<ShardedParameter> params() {
        return params;
    }

    private int groupSize() {
        return shardGroup == null ? 1 : shardGroup.size();
    }

    // ---------------------------------------------------------------- gather

    /** Starts gathering every parameter's region in {@code dtype} (returns at once). */
    void startGather(DType dtype) {
        if (gatherWork != null || gatherSend != null) {
            throw new IllegalStateException("bucket gather already in flight");
        }
        gatherDtype = dtype;
        scoped(() -> {
            gatherSend = unowned(Tensor.empty(dtype, device, perRank));
            for (ShardedParameter p : params) {
                Layout.copyInto(p.shard().view(p.layout().shardElements()),
                        gatherSend.narrow(0, p.bucketOffset(), p.layout().shardElements()));
            }
            if (shardGroup != null) {
                gatherRecv = unowned(Tensor.empty(dtype, device, groupSize() * perRank));
                gatherWork = shardGroup.allGather(gatherSend, gatherRecv);
            }
        });
    }

    /** Waits for the gather and returns each parameter's region, [regionRows, dims 1..], owned by no scope. */
    Map<ShardedParameter, Tensor> finishGather() {
        if (gatherSend == null) {
            throw new IllegalStateException("finishGather without startGather");
        }
        Map<ShardedParameter, Tensor> out = new LinkedHashMap<>();
        try {
            if (gatherWork != null) {
                gatherWork.await();
            }
            Tensor all = gatherRecv != null ? gatherRecv : gatherSend;
            int n = groupSize();
            scoped(() -> {
                for (ShardedParameter p : params) {
                    ShardLayout l = p.layout();
                    long block = l.shardElements();
                    Tensor padded = Tensor.empty(gatherDtype, device, n * l.rowsPerRank() * l.rowElements());
                    Layout.copyInto(all.view(n, perRank).narrow(1, p.bucketOffset(), block),
                            padded.view(n, block));
                    Tensor region = padded.narrow(0, 0, l.regionRows() * l.rowElements()).view(l.regionShape());
                    padded.close();
                    out.put(p, unowned(region));
                }
            });
        } finally {
            closeGatherBuffers();
        }
        return out;
    }

    private void closeGatherBuffers() {
        if (gatherSend != null) {
            gatherSend.close();
        }
        if (gatherRecv != null) {
            gatherRecv.close();
        }
        gatherSend = null;
        gatherRecv = null;
        gatherWork = null;
    }

    // ---------------------------------------------------------------- reduce

    /**
     * Starts reducing the region gradients {@code grads} (missing entries count as zeros) into
     * this rank's shard gradients (returns at once; {@link #finishReduce} completes it).
     */
    void startReduce(Map<ShardedParameter, Tensor> grads) {
        if (reduceIn != null) {
            throw new IllegalStateException("bucket reduce already in flight");
        }
        int n = groupSize();
        scoped(() -> {
            reduceIn = unowned(Tensor.zeros(DType.F32, device, n * perRank));
            Tensor byRank = reduceIn.view(n, perRank);
            for (ShardedParameter p : params) {
                Tensor g = grads.get(p);
                if (g == null) {
                    continue;
                }
                ShardLayout l = p.layout();
                long c = l.rowsPerRank();
                long row = l.rowElements();
                Tensor flat = g.contiguous().view(l.regionRows() * row);
                long fullRanks = c == 0 ? 0 : l.regionRows() / c;
                if (fullRanks > 0) {
                    Layout.copyInto(flat.narrow(0, 0, fullRanks * c * row).view(fullRanks, c * row),
                            byRank.narrow(0, 0, fullRanks).narrow(1, p.bucketOffset(), c * row));
                }
                long rest = l.regionRows() - fullRanks * c;
                if (rest > 0) {
                    Layout.copyInto(flat.narrow(0, fullRanks * c * row, rest * row),
                            reduceIn.narrow(0, fullRanks * perRank + p.bucketOffset(), rest * row));
                }
            }
            if (shardGroup != null) {
                reduceOut = unowned(Tensor.empty(DType.F32, device, perRank));
                reduceWork = shardGroup.reduceScatter(reduceIn, reduceOut, ReduceOp.SUM);
            } else {
                reduceOut = reduceIn;
                reduceIn = null;
            }
        });
    }

    boolean reducing() {
        return reduceOut != null;
    }

    /** First half of finishing: waits for the reduce-scatter and starts the replicas' all-reduce. */
    void awaitReduceScatter() {
        if (reduceWork != null) {
            reduceWork.await();
            reduceWork = null;
        }
        if (reduceIn != null) {
            reduceIn.close();
            reduceIn = null;
        }
        if (replicateGroup != null) {
            replicateWork = replicateGroup.allReduce(reduceOut, ReduceOp.SUM);
        }
    }

    /** Second half: waits for the replicas and adds the reduced rows to each shard's gradient. */
    void finishReduce() {
        try {
            if (replicateWork != null) {
                replicateWork.await();
                replicateWork = null;
            }
            scoped(() -> {
                for (ShardedParameter p : params) {
                    Tensor g = reduceOut.narrow(0, p.bucketOffset(), p.layout().shardElements())
                            .view(p.layout().shardShape());
                    Tensor shard = p.shard();
                    if (shard.grad() == null) {
                        shard.setGrad(unowned(g));
                    } else {
                        Arith.addInPlace(shard.grad(), g);
                        g.close();
                    }
                }
            });
        } finally {
            reduceOut.close();
            reduceOut = null;
        }
    }

    /** Drops buffers of collectives that will not be finished (after a failure). */
    void abandon() {
        closeGatherBuffers();
        for (Tensor t : new Tensor[] {reduceIn, reduceOut}) {
            if (t != null) {
                t.close();
            }
        }
        reduceIn = null;
        reduceOut = null;
        reduceWork = null;
        replicateWork = null;
    }

    /** Runs {@code body} without recording, in its own scope (temporaries freed at its end). */
    private static void scoped(Runnable body) {
        try (Scope s = Scope.open("fsdp")) {
            GradMode.noGrad(body);
        }
    }

    private static Tensor unowned(Tensor t) {
        return t.moveTo(null);
    }
}
