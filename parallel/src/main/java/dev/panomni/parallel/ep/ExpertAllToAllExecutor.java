package dev.panomni.parallel.ep;

import dev.panomni.nn.ExpertChoice;
import dev.panomni.nn.ExpertExecutor;
import dev.panomni.nn.ExpertOrder;
import dev.panomni.nn.ExpertRouting;
import dev.panomni.parallel.comm.AllToAllOp;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.RecomputeStash;
import dev.panomni.tensor.ops.Indexing;
import dev.panomni.tensor.ops.Joining;
import dev.panomni.tensor.ops.Reductions;

import java.util.Arrays;

/**
 * Expert parallelism for one MoE layer by all-to-all ({@link ExpertDispatch#ALL_TO_ALL}): the experts
 * are split evenly over the EP group (rank j owns experts {@code [j * E/ep, (j + 1) * E/ep)}, the rows
 * of the layer's stacked expert parameters this rank holds). Tokens travel once per destination rank,
 * not once per (token, expert) row: with top-k routing a token usually has several experts on one
 * rank, and sending it once cuts the all-to-all volume by up to k / ep (4x for top-8 over 2 ranks).
 * Per forward:
 * <ol>
 *   <li>the choices are sorted by expert on the device ({@link ExpertOrder}); the per-expert row counts
 *       and the per-destination token counts, derived from the choices on the device, are all-gathered
 *       before the sort's count read, so every rank knows what it sends and receives once that read
 *       returns;</li>
 *   <li>each rank sends every destination the tokens with at least one expert there (ascending), by
 *       an uneven all-to-all, and beside them each routed row's position among the received tokens
 *       and its router weight (the plan, {@link ExpertDispatchPlan}, is built on the host from the
 *       sorted rows' tokens);</li>
 *   <li>the receiver regroups the rows by local expert, gathers their tokens, runs the grouped expert
 *       MLP and adds the weighted outputs per received token: one partial sum per (token, rank);</li>
 *   <li>the partial sums go back by the reverse all-to-all and are added into the tokens' outputs.</li>
 * </ol>
 * Backward follows the same path in reverse (the all-to-alls, gathers and index-adds are autograd
 * ops; the router weights' gradient returns with its own all-to-all). Under activation checkpointing
 * the first run saves the order, the plan and what each all-to-all received in the layer's
 * {@link RecomputeStash}, so the recomputation neither synchronizes nor communicates; only the
 * backward's reverse all-to-alls move data again. Against {@link ExpertAllGatherExecutor} it moves
 * less data at large ep but needs the host plan; see {@link ExpertDispatch}.
 */
public final class ExpertAllToAllExecutor implements ExpertExecutor {
    private final ExpertSplit split;
    /** [ranks * (experts + ranks)] F32: the counts {@link #startCounts} started gathering, until execute reads them. */
    private Tensor pendingCounts;

    /**
     * @param ep      the expert-parallel group
     * @param experts routed experts of the layer; must be divisible by the group size
     */
    public ExpertAllToAllExecutor(Communicator ep, int experts) {
        this.split = new ExpertSplit(ep, experts);
    }

    @Override
    public Tensor execute(Tensor tokens, ExpertChoice choice, ExpertMlp mlp) {
        split.check(choice);
        Communicator ep = split.group();
        RecomputeStash stash = RecomputeStash.current();
        boolean replay = stash != null && stash.replaying();
        if (!replay) {
            startCounts(choice.chosen());
        }
        ExpertOrder order = ExpertOrder.sortOrReplay(choice.chosen(), 0, split.experts());
        ExpertRouting routing = order.route(choice.weights());
        Exchanged first = replay ? stash.take(Exchanged.class) : null;
        ExpertDispatchPlan p;
        Tensor indices;
        if (first != null) {
            p = first.plan();
            indices = first.indices();
        } else {
            long[] perExpert = routing.tokensPerExpert();
            ExpertDispatchPlan.Outgoing outgoing = ExpertDispatchPlan.outgoing(perExpert,
                    routing.rowToken().toLongArray(), Math.toIntExact(tokens.size(0)), ep.size());
            long[][] counts = takeCounts(outgoing.countsRow(perExpert));
            p = ExpertDispatchPlan.of(outgoing, counts, ep.rank());
            indices = upload(tokens, p.tokenIds(), p.rowIndex(), p.grouped(), p.ungrouped());
        }
        int sent = p.tokenIds().length;
        int rows = p.rowIndex().length;
        int received = p.grouped().length;
        Tensor tokenIds = indices.narrow(0, 0, sent);
        Tensor rowIndex = indices.narrow(0, sent, rows);
        Tensor grouped = indices.narrow(0, sent + rows, received);
        Tensor ungrouped = indices.narrow(0, sent + rows + received, received);

        Tensor outgoing = Indexing.indexSelect(tokens, 0, tokenIds);
        Tensor incoming;
        Tensor incomingIndex;
        Tensor incomingWeight;
        if (first != null) {
            incoming = AllToAllOp.replayed(ep, outgoing, first.incoming(), p.sendTokens(), p.recvTokens());
            incomingIndex = first.incomingIndex();
            incomingWeight = AllToAllOp.replayed(ep, routing.rowWeight(), first.incomingWeight(), p.sendRows(),
                    p.recvRows());
        } else {
            incoming = AllToAllOp.apply(ep, outgoing, p.sendTokens(), p.recvTokens());
            incomingIndex = GradMode.noGrad(() -> AllToAllOp.apply(ep, rowIndex, p.sendRows(), p.recvRows()));
            incomingWeight = AllToAllOp.apply(ep, routing.rowWeight(), p.sendRows(), p.recvRows());
        }

        Tensor groupedIndex = GradMode.noGrad(() -> Indexing.indexSelect(incomingIndex, 0, grouped));
        // A permutation both ways: the backward gathers with the inverse instead of index-adding.
        Tensor groupedWeight = Indexing.permuteRows(incomingWeight, grouped, ungrouped);
        Tensor partial = ExpertExecutor.weightedExperts(incoming, groupedIndex, groupedWeight, p.offsets(), mlp);
        Tensor returned = first != null
                ? AllToAllOp.replayed(ep, partial, first.returned(), p.recvTokens(), p.sendTokens())
                : AllToAllOp.apply(ep, partial, p.recvTokens(), p.sendTokens());
        if (stash != null && first == null) {
            stash.put(new Exchanged(p, stash.hold(indices), stash.hold(incoming), stash.hold(incomingIndex),
                    stash.hold(incomingWeight), stash.hold(returned)));
        }
        return Indexing.indexAdd(Tensor.zeros(tokens.dtype(), tokens.device(), tokens.shape()), 0, tokenIds,
                returned);
    }

    /**
     * What the first run of a recomputed layer exchanged, for its recomputation: the plan, the index
     * vectors on the device, and the three all-to-alls' results and the one of the partial sums.
     */
    private record Exchanged(ExpertDispatchPlan plan, Tensor indices, Tensor incoming, Tensor incomingIndex,
                             Tensor incomingWeight, Tensor returned) {
    }

    /** The index vectors, concatenated, in one upload. */
    private static Tensor upload(Tensor like, long[]... parts) {
        long[] host = new long[Arrays.stream(parts).mapToInt(a -> a.length).sum()];
        int at = 0;
        for (long[] part : parts) {
            System.arraycopy(part, 0, host, at, part.length);
            at += part.length;
        }
        return GradMode.noGrad(() -> Tensor.ofLongs(host, host.length).to(like.device()));
    }

    /**
     * Derives this rank's row of counts from the choices on the device (rows per expert, and per rank
     * the tokens with at least one expert there) and starts gathering every rank's, so that the
     * sort's read of its counts also completes the exchange.
     *
     * @param chosen [T, k] I64: each (token, slot)'s expert
     */
    private void startCounts(Tensor chosen) {
        Communicator ep = split.group();
        int experts = split.experts();
        int n = ep.size();
        long t = chosen.size(0);
        Tensor gathered = GradMode.noGrad(() -> {
            Tensor oneHot = Indexing.scatterAdd(Tensor.zeros(DType.F32, chosen.device(), t, experts), 1, chosen,
                    Tensor.ones(DType.F32, chosen.device(), chosen.shape()));                    // [T, E]
            Tensor perExpert = Reductions.sum(oneHot, new int[] {0}, false);                       // [E]
            Tensor perRank = Reductions.sum(Reductions.max(oneHot.reshape(t, n, experts / n), 2, false),
                    new int[] {0}, false);                                                        // [n]
            Tensor row = Joining.concat(new Tensor[] {perExpert, perRank}, 0);
            Tensor all = Tensor.empty(DType.F32, chosen.device(), (long) n * (experts + n));
            ep.allGather(row, all).await();
            return all;
        });
        if (pendingCounts != null) {
            pendingCounts.close();
        }
        pendingCounts = gathered.unownedAlias();
    }

    /**
     * The counts {@link #startCounts} gathered, checked against this rank's own from the sorted
     * routing (they come from the same choices on two paths; a difference is a kernel fault).
     */
    private long[][] takeCounts(long[] mine) {
        float[] flat;
        try {
            flat = pendingCounts.toFloatArray();
        } finally {
            pendingCounts.close();
            pendingCounts = null;
        }
        long[] exact = new long[flat.length];
        for (int i = 0; i < flat.length; i++) {
            exact[i] = (long) flat[i];              // counts below 2^24: exact in F32
        }
        long[][] out = byRank(exact);
        int me = split.group().rank();
        if (!Arrays.equals(out[me], mine)) {
            throw new IllegalStateException("expert parallel: the counts derived from the choices "
                    + Arrays.toString(out[me]) + " differ from the sorted routing's " + Arrays.toString(mine));
        }
        return out;
    }

    /** The gathered rows of counts, one per EP rank. */
    private long[][] byRank(long[] flat) {
        int n = split.group().size();
        int width = flat.length / n;
        long[][] out = new long[n][];
        for (int j = 0; j < n; j++) {
            out[j] = Arrays.copyOfRange(flat, j * width, (j + 1) * width);
        }
        return out;
    }
}
