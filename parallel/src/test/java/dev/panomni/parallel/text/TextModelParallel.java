package dev.panomni.parallel.text;

import dev.panomni.modalities.text.model.CausalLm;
import dev.panomni.modalities.text.model.CausalLmOutput;
import dev.panomni.modalities.text.model.DecoderBackbone;
import dev.panomni.modalities.text.model.PackedBatch;
import dev.panomni.modalities.text.model.RouterStats;
import dev.panomni.modalities.text.model.SparseMoe;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.ReduceOp;
import dev.panomni.parallel.engine.ParallelModel;
import dev.panomni.parallel.mesh.MeshDim;
import dev.panomni.parallel.plan.ParallelPlan;
import dev.panomni.parallel.plan.Placement;
import dev.panomni.parallel.sp.SequenceLayout;
import dev.panomni.parallel.sp.SequenceShard;
import dev.panomni.parallel.sp.SequenceSharder;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.LinearCrossEntropy;
import dev.panomni.tensor.ops.Reductions;

import java.util.List;
import java.util.function.Consumer;

/**
 * Where the text models ({@link CausalLm}: Llama, Qwen3, Qwen3-MoE) meet the parallel engine, with
 * no change to their code: their default plan, the layer runner that makes each decoder layer an
 * FSDP unit, the collator step for sequence parallelism, and the loss reduced over all ranks.
 *
 * <p>It lives here, beside the engine's tests, because of the module rules: {@code parallel} may not
 * depend on {@code modalities}, and {@code modalities} depends only on {@code tensor}; the trainer
 * and bench use it through this module's test jar until the trainer takes it over.
 */
public final class TextModelParallel {
    private TextModelParallel() {
    }

    /**
     * The default plan of the text models: every parameter FSDP-sharded over dp_shard x sp, one FSDP
     * unit per decoder layer (embeddings, final norm and head in the root unit), stacked experts
     * sharded by expert over ep, and every self-attention module sequence-parallel.
     */
    public static ParallelPlan plan() {
        return ParallelPlan.builder()
                .fsdpUnit("model.layers.*")
                .place("model.layers.*.mlp.experts.*", new Placement.ExpertSharded())
                .sequenceParallel("model.layers.*.self_attn")
                .build();
    }

    /**
     * Runs each decoder layer as an FSDP unit of {@code engine}. An MoE layer's router statistics
     * are returned from the unit as a side output, so the load-balancing loss's gradient reaches the
     * router through the unit's recomputation.
     */
    public static DecoderBackbone.LayerRunner layerRunner(ParallelModel engine) {
        return (index, layer, x, positions, cuSeqlens) -> {
            SparseMoe moe = layer.moe();
            if (moe == null) {
                return engine.runUnit(layer, in -> new Tensor[] {layer.forward(in[0], positions, cuSeqlens)}, x)[0];
            }
            RouterStats[] captured = new RouterStats[1];
            Tensor[] outs = engine.runUnit(layer, in -> {
                Consumer<RouterStats> sink = moe.statsSink();
                moe.onStats(s -> captured[0] = s);
                try {
                    Tensor y = layer.forward(in[0], positions, cuSeqlens);
                    return new Tensor[] {y, captured[0].probSum()};
                } finally {
                    moe.onStats(sink);
                }
            }, x);
            RouterStats s = captured[0];
            moe.statsSink().accept(new RouterStats(s.assigned(), outs[1], s.tokens()));
            return outs[0];
        };
    }

    /**
     * The documents of data-parallel rank {@code dpIndex} of {@code dpSize}, packed, and cut for
     * this rank's place in its sequence-parallel group. Documents go round-robin to the
     * data-parallel ranks.
     */
    public static LocalBatch collate(List<long[]> documents, int dpIndex, int dpSize, int spIndex, int spSize,
                                     SequenceLayout.Sharding sharding) {
        List<long[]> mine = new java.util.ArrayList<>();
        for (int i = dpIndex; i < documents.size(); i += dpSize) {
            mine.add(documents.get(i));
        }
        PackedBatch packed = PackedBatch.of(mine.toArray(long[][]::new));
        SequenceShard shard = SequenceSharder.shard(packed.ids().toLongArray(), packed.positions().toLongArray(),
                toInts(packed.cuSeqlens()), packed.labels().toLongArray(), PackedBatch.IGNORE, sharding, spSize, spIndex);
        PackedBatch local = new PackedBatch(Tensor.ofLongs(shard.ids(), shard.ids().length),
                Tensor.ofLongs(shard.positions(), shard.positions().length),
                Tensor.ofInts(shard.cuSeqlens(), shard.cuSeqlens().length),
                Tensor.ofLongs(shard.labels(), shard.labels().length));
        return new LocalBatch(local, shard.layout());
    }

    /** One rank's batch and the layout of the sequence it was cut from. */
    public record LocalBatch(PackedBatch batch, SequenceLayout layout) {
    }

    private static int[] toInts(Tensor t) {
        long[] l = t.toLongArray();
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            out[i] = (int) l[i];
        }
        return out;
    }

    /**
     * This rank's share of the global training loss: the sum of its tokens' cross-entropies over the
     * global count of non-ignored labels, plus its share of the load-balancing loss computed from
     * global router statistics. Summed over all ranks (which the engine's gradient reduction does)
     * it is exactly the single-device loss of the whole batch, and so are the gradients.
     *
     * @return {the local share to back-propagate, the global loss value as a 0-dim tensor}
     */
    public static Tensor[] loss(CausalLm model, ParallelModel engine, PackedBatch batch, int chunk) {
        Communicator world = engine.mesh().group(MeshDim.WORLD);
        CausalLmOutput out = model.loss(batch, layerRunner(engine), chunk);
        long localCount = 0;
        for (long l : batch.labels().toLongArray()) {
            if (l != PackedBatch.IGNORE) {
                localCount++;
            }
        }
        Device device = out.lmLoss().device();
        long globalCount = allReduceLongs(world, new long[] {localCount}, device)[0];
        Tensor share = globalCount == 0 ? Arith.mulScalar(out.lmLoss(), 0.0)
                : Arith.mulScalar(out.lmLoss(), (double) localCount / globalCount);
        List<RouterStats> stats = out.routerStats();
        if (!stats.isEmpty()) {
            Tensor aux = globalLoadBalancingShare(stats, model.config().experts(), world);
            share = Arith.add(share, Arith.mulScalar(aux, model.config().routerAuxLossCoef()));
        }
        float localValue = share.item();
        Tensor total = GradMode.noGrad(() -> {
            Tensor v = Tensor.full(DType.F32, device, localValue, 1);
            world.allReduce(v, ReduceOp.SUM).await();
            return v.view();
        });
        return new Tensor[] {share, total};
    }

    /**
     * This rank's share of the Switch / Hugging Face load-balancing loss over every rank's tokens:
     * {@code E * sum_e f_e * P_e} with the global assignment fractions {@code f} (all-reduced, no
     * gradient) and this rank's router probability sums as its part of {@code P}.
     */
    static Tensor globalLoadBalancingShare(List<RouterStats> layers, int experts, Communicator world) {
        long tokens = 0;
        Device device = layers.get(0).probSum().device();
        Tensor probSum = null;
        // A fresh sum (the all-reduce works in place): F32 counts, exact below 2^24.
        Tensor global = Tensor.zeros(DType.F32, device, experts);
        for (RouterStats s : layers) {
            tokens += s.tokens();
            global = Arith.add(global, s.assigned());                // no gradient: counts
            probSum = probSum == null ? s.probSum() : Arith.add(probSum, s.probSum());
        }
        long pooled = allReduceLongs(world, new long[] {tokens}, device)[0];
        world.allReduce(global, ReduceOp.SUM).await();
        Tensor f = Arith.mulScalar(global, 1.0 / pooled);
        Tensor dot = Reductions.sumAll(Arith.mul(f, probSum));
        return Arith.mulScalar(dot, (double) experts / pooled);
    }

    /** Sums {@code values} over the ranks, through a tensor on {@code device} (device communicators move only those). */
    private static long[] allReduceLongs(Communicator c, long[] values, Device device) {
        try (Scope s = Scope.open("allReduceLongs")) {
            Tensor t = Tensor.ofLongs(values, values.length).to(device);
            c.allReduce(t, ReduceOp.SUM).await();
            return t.toLongArray();
        }
    }

    /** The chunk size of the fused head used by {@link #loss}. */
    public static final int CHUNK = LinearCrossEntropy.DEFAULT_CHUNK;
}
