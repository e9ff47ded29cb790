package dev.panomni.modalities.text.model;

import dev.panomni.nn.Module;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.Linalg;
import dev.panomni.tensor.ops.LinearCrossEntropy;
import dev.panomni.tensor.random.Generator;

import java.util.ArrayList;
import java.util.List;

/**
 * A decoder-only language model of the Llama / Qwen2 / Qwen3 / Qwen3-MoE families, written as
 * plain single-device code: parameter names are Hugging Face's ({@code model.layers.0.self_attn.
 * q_proj.weight}, {@code lm_head.weight}), and parallelism is applied from outside by a plan.
 */
public final class CausalLm extends Module {
    private final TextModelConfig cfg;
    private final DecoderBackbone backbone;
    private final List<RouterStats> stats = new ArrayList<>();

    /** A model with fresh weights drawn from {@code seed}. */
    public CausalLm(TextModelConfig cfg, long seed) {
        this.cfg = cfg;
        Generator gen = new Generator(seed);
        backbone = registerModule("model", new DecoderBackbone(cfg, gen));
        if (!cfg.tieEmbeddings()) {
            registerModule("lm_head", new ProjectionWeights(cfg.hidden(), cfg.vocabSize(), false, gen));
        }
        for (DecoderLayer layer : backbone.layers()) {
            if (layer.isMoe()) {
                layer.moe().onStats(stats::add);
            }
        }
    }

    public TextModelConfig config() {
        return cfg;
    }

    public DecoderBackbone backbone() {
        return backbone;
    }

    /** The LM head matrix [vocab, hidden] (the embedding when tied). */
    public Tensor headWeight() {
        return cfg.tieEmbeddings() ? backbone.embedTokens().weight() : ((ProjectionWeights) module("lm_head")).weight();
    }

    /** Final hidden states [T, hidden]. */
    public Tensor hidden(PackedBatch batch, DecoderBackbone.LayerRunner runner) {
        return backbone.forward(batch, runner);
    }

    /** Logits [T, vocab] (materialized: for evaluation and generation, not for training on large vocabularies). */
    public Tensor logits(PackedBatch batch) {
        stats.clear();
        return Linalg.matmul(hidden(batch, DecoderBackbone.LayerRunner.DIRECT), headWeight().t());
    }

    /** Training forward: the loss of a packed batch with labels, through the chunked fused head. */
    public CausalLmOutput loss(PackedBatch batch) {
        return loss(batch, DecoderBackbone.LayerRunner.DIRECT, LinearCrossEntropy.DEFAULT_CHUNK);
    }

    /** Training forward with a custom layer runner (checkpointing, FSDP) and head chunk size. */
    public CausalLmOutput loss(PackedBatch batch, DecoderBackbone.LayerRunner runner, int chunk) {
        if (batch.labels() == null) {
            throw new IllegalArgumentException("loss needs a batch with labels");
        }
        stats.clear();
        Tensor h = hidden(batch, runner);
        Tensor lm = LinearCrossEntropy.loss(h, headWeight(), batch.labels(), PackedBatch.IGNORE, chunk);
        List<RouterStats> layerStats = List.copyOf(stats);
        stats.clear();
        Tensor aux = SparseMoe.loadBalancingLoss(layerStats, cfg.experts());
        Tensor total = aux == null ? lm : Arith.add(lm, Arith.mulScalar(aux, cfg.routerAuxLossCoef()));
        return new CausalLmOutput(total, lm, aux, layerStats);
    }
}
