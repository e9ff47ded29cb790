package dev.panomni.parallel.ep;

import dev.panomni.nn.ExpertChoice;
import dev.panomni.nn.ExpertExecutor;
import dev.panomni.nn.ExpertOrder;
import dev.panomni.nn.ExpertRouting;
import dev.panomni.parallel.comm.AllGatherOp;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.ReduceScatterOp;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.RecomputeStash;
import dev.panomni.tensor.ops.Joining;

/**
 * Expert parallelism for one MoE layer by all-gather ({@link ExpertDispatch#ALL_GATHER}, Megatron's
 * "allgather" token dispatcher): the experts are split evenly over the EP group as for
 * {@link ExpertAllToAllExecutor} (rank j owns experts {@code [j * E/ep, (j + 1) * E/ep)}). Per forward:
 * <ol>
 *   <li>every rank's tokens, choices and router weights are all-gathered, each rank's padded to the
 *       most tokens any rank has (one small exchange; padding rows choose no expert): no dispatch plan
 *       is built and nothing derived from the routing is read before the exchange;</li>
 *   <li>the gathered choices of this rank's experts are sorted by expert on the device
 *       ({@link ExpertOrder}; the host reads only their per-expert counts, for the grouped GEMM);</li>
 *   <li>the grouped expert MLP runs over those rows and the weighted outputs are added per gathered
 *       token: [ep * T, hidden] partial sums, zero for tokens with no expert here;</li>
 *   <li>a reduce-scatter sums the partials of every rank for each rank's own tokens.</li>
 * </ol>
 * The backward is the same path reversed: the reduce-scatter's gradient is an all-gather, the
 * all-gathers' a reduce-scatter. Each token crosses to every other rank whether or not it has an
 * expert there; with top-k of E experts over ep ranks a token has one on a given rank with
 * probability {@code 1 - (1 - 1/ep)^k} (over 99% for top-8 at ep 2, 66% at ep 8), so the volume is
 * that of the deduplicating all-to-all at small ep, without its host plan. Under activation
 * checkpointing the first run saves the gathered tensors, the order and the reduced result in the
 * layer's {@link RecomputeStash}: the recomputation neither reads the device nor communicates.
 */
public final class ExpertAllGatherExecutor implements ExpertExecutor {
    private final ExpertSplit split;

    /**
     * @param ep      the expert-parallel group
     * @param experts routed experts of the layer; must be divisible by the group size
     */
    public ExpertAllGatherExecutor(Communicator ep, int experts) {
        this.split = new ExpertSplit(ep, experts);
    }

    /**
     * What the first run gathered, for the recomputation: every rank's tokens, choices and weights,
     * each rank's padded to {@code rows}.
     */
    private record Gathered(long rows, Tensor tokens, Tensor chosen, Tensor weights) {
    }

    /** What the first run's reduce-scatter returned. */
    private record Reduced(Tensor out) {
    }

    @Override
    public Tensor execute(Tensor tokens, ExpertChoice choice, ExpertMlp mlp) {
        split.check(choice);
        Communicator ep = split.group();
        long t = tokens.size(0);
        RecomputeStash stash = RecomputeStash.current();
        boolean replay = stash != null && stash.replaying();
        Tensor weights = choice.weights().reshape(choice.tokens(), choice.perToken());
        Gathered all;
        if (replay) {
            Gathered first = stash.take(Gathered.class);
            long rows = first.rows();
            all = new Gathered(rows, AllGatherOp.replayed(ep, padded(tokens, rows), first.tokens()), first.chosen(),
                    AllGatherOp.replayed(ep, padded(weights, rows), first.weights()));
        } else {
            long rows = mostTokens(tokens);
            all = new Gathered(rows, AllGatherOp.apply(ep, padded(tokens, rows)),
                    AllGatherOp.apply(ep, unrouted(choice.chosen(), rows)), AllGatherOp.apply(ep, padded(weights, rows)));
            if (stash != null) {
                stash.put(new Gathered(rows, stash.hold(all.tokens()), stash.hold(all.chosen()),
                        stash.hold(all.weights())));
            }
        }
        ExpertOrder order = ExpertOrder.sortOrReplay(all.chosen(), split.first(), split.perRank());
        ExpertRouting routing = order.route(all.weights());
        Tensor partial = ExpertExecutor.weightedExperts(all.tokens(), routing, mlp);       // [ep * rows, hidden]
        Tensor out;
        if (replay) {
            out = ReduceScatterOp.replayed(ep, partial, stash.take(Reduced.class).out());
        } else {
            out = ReduceScatterOp.apply(ep, partial);
            if (stash != null) {
                stash.put(new Reduced(stash.hold(out)));
            }
        }
        return out.size(0) == t ? out : out.narrow(0, 0, t);
    }

    /**
     * The most tokens any EP rank has in this layer (packed batches need not split evenly): every
     * rank pads to it, so the all-gathers move equal shapes. One small exchange read on the host.
     */
    private long mostTokens(Tensor tokens) {
        Communicator ep = split.group();
        try (Scope s = Scope.open("ep.tokens")) {
            Tensor mine = GradMode.noGrad(() -> Tensor.ofLongs(new long[] {tokens.size(0)}, 1).to(tokens.device()));
            Tensor every = Tensor.zeros(DType.I64, mine.device(), ep.size());
            ep.allGather(mine, every).await();
            long most = 0;
            for (long c : every.toLongArray()) {
                most = Math.max(most, c);
            }
            return most;
        }
    }

    /** {@code x} [T, ...] with zero rows appended up to {@code rows} (differentiable). */
    private static Tensor padded(Tensor x, long rows) {
        if (x.size(0) == rows) {
            return x;
        }
        long[] shape = x.shape();
        shape[0] = rows - x.size(0);
        return Joining.concat(new Tensor[] {x, Tensor.zeros(x.dtype(), x.device(), shape)}, 0);
    }

    /** The choices [T, k] with rows of expert -1 appended up to {@code rows}: no rank's experts, never routed. */
    private static Tensor unrouted(Tensor chosen, long rows) {
        long pad = rows - chosen.size(0);
        if (pad == 0) {
            return chosen;
        }
        long[] none = new long[Math.toIntExact(pad * chosen.size(1))];
        java.util.Arrays.fill(none, -1);
        Tensor fill = GradMode.noGrad(() -> Tensor.ofLongs(none, pad, chosen.size(1)).to(chosen.device()));
        return Joining.concat(new Tensor[] {chosen, fill}, 0);
    }
}
