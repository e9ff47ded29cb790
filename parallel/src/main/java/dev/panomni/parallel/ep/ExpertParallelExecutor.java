package dev.panomni.parallel.ep;

import dev.panomni.nn.ExpertExecutor;
import dev.panomni.parallel.comm.AllToAllOp;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Indexing;

/**
 * Expert parallelism for one MoE layer: the experts are split evenly over the EP group (rank j owns
 * experts {@code [j * E/ep, (j + 1) * E/ep)}, the rows of the layer's stacked expert parameters this
 * rank holds). Per forward:
 * <ol>
 *   <li>the per-expert row counts are all-gathered, so every rank knows what it sends and receives;</li>
 *   <li>rows go to their expert's owner by an uneven all-to-all (the rows are grouped by expert, so
 *       each destination's rows are contiguous);</li>
 *   <li>the received rows, grouped by source rank, are regrouped by local expert and run as one
 *       grouped GEMM through the layer's expert MLP;</li>
 *   <li>the results are put back in received order and returned by the reverse all-to-all.</li>
 * </ol>
 * Backward follows the same path in reverse (the all-to-alls and gathers are autograd ops).
 */
public final class ExpertParallelExecutor implements ExpertExecutor {
    private final Communicator ep;
    private final int experts;

    /**
     * @param ep      the expert-parallel group
     * @param experts routed experts of the layer; must be divisible by the group size
     */
    public ExpertParallelExecutor(Communicator ep, int experts) {
        if (experts % ep.size() != 0) {
            throw new IllegalArgumentException("expert parallel: " + experts + " experts cannot be split evenly over ep = "
                    + ep.size() + " ranks");
        }
        this.ep = ep;
        this.experts = experts;
    }

    @Override
    public Tensor execute(Tensor rows, long[] tokensPerExpert, ExpertMlp mlp) {
        if (tokensPerExpert.length != experts) {
            throw new IllegalArgumentException("expert parallel: got counts for " + tokensPerExpert.length
                    + " experts, the layer has " + experts);
        }
        int n = ep.size();
        int me = ep.rank();
        int local = experts / n;
        long[][] counts = allCounts(tokensPerExpert, rows);        // [source rank][expert]
        long[] send = new long[n];
        long[] recv = new long[n];
        for (int j = 0; j < n; j++) {
            for (int e = 0; e < local; e++) {
                send[j] += tokensPerExpert[j * local + e];
                recv[j] += counts[j][me * local + e];
            }
        }
        Tensor received = AllToAllOp.apply(ep, rows, send, recv);  // by source rank, then by local expert

        // Regroup by local expert: position k of the grouped order takes received row perm[k].
        long total = received.size(0);
        long[] perm = new long[(int) total];
        long[] inverse = new long[(int) total];
        long[] offsets = new long[local + 1];
        long[] sourceStart = new long[n];
        for (int j = 1; j < n; j++) {
            sourceStart[j] = sourceStart[j - 1] + recv[j - 1];
        }
        int k = 0;
        for (int e = 0; e < local; e++) {
            for (int j = 0; j < n; j++) {
                long before = 0;
                for (int f = 0; f < e; f++) {
                    before += counts[j][me * local + f];
                }
                long c = counts[j][me * local + e];
                for (long r = 0; r < c; r++) {
                    long src = sourceStart[j] + before + r;
                    perm[k] = src;
                    inverse[(int) src] = k;
                    k++;
                }
            }
            offsets[e + 1] = k;
        }
        Tensor permT = index(perm, rows);
        Tensor inverseT = index(inverse, rows);
        // A permutation both ways: the backward gathers with the inverse instead of index-adding.
        Tensor grouped = Indexing.permuteRows(received, permT, inverseT);
        Tensor out = mlp.apply(grouped, offsets);
        Tensor back = Indexing.permuteRows(out, inverseT, permT);  // received order again
        return AllToAllOp.apply(ep, back, recv, send);
    }

    /** Every EP rank's per-expert counts (gathered on the rows' device: NCCL moves only device tensors). */
    private long[][] allCounts(long[] mine, Tensor like) {
        int n = ep.size();
        long[][] out = new long[n][];
        try (Scope s = Scope.open("ep.counts")) {
            Tensor t = index(mine, like);
            Tensor all = Tensor.zeros(DType.I64, t.device(), (long) n * mine.length);
            ep.allGather(t, all).await();
            long[] flat = all.toLongArray();
            for (int j = 0; j < n; j++) {
                out[j] = java.util.Arrays.copyOfRange(flat, j * mine.length, (j + 1) * mine.length);
            }
        }
        return out;
    }

    private static Tensor index(long[] values, Tensor like) {
        return GradMode.noGrad(() -> Tensor.ofLongs(values, values.length).to(like.device()));
    }
}
