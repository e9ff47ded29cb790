package dev.panomni.modalities.text.model;

import dev.panomni.nn.ExpertChoice;
import dev.panomni.nn.ExpertExecutor;
import dev.panomni.nn.Module;
import dev.panomni.nn.PluggableExperts;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Activations;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.CountingSort;
import dev.panomni.tensor.ops.GroupedGemm;
import dev.panomni.tensor.ops.Reductions;
import dev.panomni.tensor.ops.Softmax;
import dev.panomni.tensor.ops.TopK;
import dev.panomni.tensor.random.Generator;

import java.util.function.Consumer;

/**
 * Qwen3-MoE's sparse MLP: a softmax router picks the top-k experts per token (optionally
 * renormalizing their weights), tokens are sorted by expert, every expert's SwiGLU MLP runs as one
 * grouped GEMM over its contiguous run of tokens (never a loop of per-token products), and the
 * weighted results are summed back per token. No token is dropped.
 *
 * <p>Parameters: {@code gate.weight} [experts, hidden] (the router) and the experts stacked as
 * {@code experts.gate_proj} / {@code experts.up_proj} [experts, moe_intermediate, hidden] and
 * {@code experts.down_proj} [experts, hidden, moe_intermediate]; Hugging Face's per-expert keys
 * are merged into these on load.
 *
 * <p>The tokens and their routing go through an {@link ExpertExecutor}: all experts on this device
 * unless a parallel engine installs an expert-parallel one, in which case the stacked expert
 * parameters hold only this rank's experts. The choices are sorted by expert on the device; under
 * activation checkpointing the recomputation takes that order from the first run instead of sorting
 * again ({@link dev.panomni.nn.ExpertOrder#sortOrReplay}).
 */
public final class SparseMoe extends Module implements PluggableExperts {
    private final TextModelConfig cfg;
    private Consumer<RouterStats> statsSink = s -> { };
    private ExpertExecutor executor = ExpertExecutor.LOCAL;

    SparseMoe(TextModelConfig cfg, Generator gen) {
        this.cfg = cfg;
        long e = cfg.experts();
        long h = cfg.hidden();
        long i = cfg.moeIntermediate();
        registerModule("gate", new ProjectionWeights(h, e, false, gen));
        registerModule("experts", new Experts(e, h, i, gen));
    }

    /** Stacked expert weights. */
    static final class Experts extends Module {
        Experts(long e, long h, long i, Generator gen) {
            registerParameter("gate_proj", ModelInit.normal(gen, e, i, h));
            registerParameter("up_proj", ModelInit.normal(gen, e, i, h));
            registerParameter("down_proj", ModelInit.normal(gen, e, h, i));
        }
    }

    /**
     * Where the router's statistics of each forward go (the model collects them for the aux loss;
     * code that runs a layer under recomputation may redirect them for the duration of a call).
     */
    public void onStats(Consumer<RouterStats> sink) {
        this.statsSink = sink;
    }

    /** The current statistics sink. */
    public Consumer<RouterStats> statsSink() {
        return statsSink;
    }

    @Override
    public int expertCount() {
        return cfg.experts();
    }

    @Override
    public ExpertExecutor expertExecutor() {
        return executor;
    }

    @Override
    public void setExpertExecutor(ExpertExecutor executor) {
        this.executor = executor == null ? ExpertExecutor.LOCAL : executor;
    }

    /** x [T, hidden] -> [T, hidden]. */
    public Tensor forward(Tensor x) {
        long t = x.size(0);
        int k = cfg.expertsPerToken();
        int e = cfg.experts();
        Tensor logits = ((ProjectionWeights) module("gate")).forward(x);             // [T, E]
        Tensor probs = Softmax.softmax(logits.to(DType.F32), -1);                    // router in fp32
        TopK.Result top = TopK.topk(probs, k, -1);                                   // [T, k]
        Tensor weights = top.values();
        if (cfg.normTopkProb()) {
            weights = Arith.div(weights, Reductions.sum(weights, new int[] {-1}, true));
        }
        Tensor chosen = top.indices();
        Tensor out = executor.execute(x, new ExpertChoice(chosen, weights.to(x.dtype()), e), this::expertMlp);
        // Counted on the device: nothing here waits for the routing (the executor reads only its counts).
        Tensor assigned = GradMode.noGrad(() -> CountingSort.counts(chosen, 0, e).to(DType.F32));
        statsSink.accept(new RouterStats(assigned, Reductions.sum(probs, new int[] {0}, false), t));
        return out;
    }

    /** The SwiGLU expert MLPs over rows grouped by the experts held here ([held, ...] stacked weights). */
    private Tensor expertMlp(Tensor rows, long[] offsets) {
        Module ex = module("experts");
        Tensor g = GroupedGemm.matmul(rows, ex.namedParameters().get("gate_proj"), offsets);
        Tensor u = GroupedGemm.matmul(rows, ex.namedParameters().get("up_proj"), offsets);
        return GroupedGemm.matmul(Activations.swiglu(g, u), ex.namedParameters().get("down_proj"), offsets);
    }

    /**
     * The Switch/Hugging Face load-balancing loss over all MoE layers of a forward, with the layers'
     * tokens pooled: {@code E * sum_e (assigned_e / (L*T)) * (probSum_e / (L*T))}.
     */
    static Tensor loadBalancingLoss(java.util.List<RouterStats> layers, int experts) {
        if (layers.isEmpty()) {
            return null;
        }
        long pooled = 0;
        Tensor assigned = null;
        Tensor probSum = null;
        for (RouterStats s : layers) {
            pooled += s.tokens();
            assigned = assigned == null ? s.assigned() : Arith.add(assigned, s.assigned());
            probSum = probSum == null ? s.probSum() : Arith.add(probSum, s.probSum());
        }
        Tensor f = Arith.mulScalar(assigned, 1.0 / pooled);
        Tensor dot = Reductions.sumAll(Arith.mul(f, probSum));
        return Arith.mulScalar(dot, (double) experts / pooled);
    }

}
