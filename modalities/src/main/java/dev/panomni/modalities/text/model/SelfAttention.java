package dev.panomni.modalities.text.model;

import dev.panomni.nn.AttentionFunction;
import dev.panomni.nn.Module;
import dev.panomni.nn.PluggableAttention;
import dev.panomni.nn.RMSNorm;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.AttentionOptions;
import dev.panomni.tensor.ops.Rotary;
import dev.panomni.tensor.random.Generator;

/**
 * Grouped-query self-attention with rotary positions: q/k/v projections (biases for Qwen2),
 * Qwen3's per-head RMSNorm on queries and keys, RoPE, causal attention within each packed
 * document, output projection. Parameter names follow Hugging Face ({@code q_proj.weight}, ...).
 * The attention core is an {@link AttentionFunction} (local fused attention unless a parallel
 * engine installs a sequence-parallel one).
 */
public final class SelfAttention extends Module implements PluggableAttention {
    private final TextModelConfig cfg;
    private final Tensor invFreq;
    private AttentionFunction attention = AttentionFunction.LOCAL;

    SelfAttention(TextModelConfig cfg, Generator gen) {
        this.cfg = cfg;
        long qDim = (long) cfg.heads() * cfg.headDim();
        long kvDim = (long) cfg.kvHeads() * cfg.headDim();
        registerModule("q_proj", new ProjectionWeights(cfg.hidden(), qDim, cfg.attentionBias(), gen));
        registerModule("k_proj", new ProjectionWeights(cfg.hidden(), kvDim, cfg.attentionBias(), gen));
        registerModule("v_proj", new ProjectionWeights(cfg.hidden(), kvDim, cfg.attentionBias(), gen));
        registerModule("o_proj", new ProjectionWeights(qDim, cfg.hidden(), false, gen));
        if (cfg.qkNorm()) {
            registerModule("q_norm", new RMSNorm(cfg.headDim(), cfg.rmsNormEps()));
            registerModule("k_norm", new RMSNorm(cfg.headDim(), cfg.rmsNormEps()));
        }
        float[] f = cfg.ropeInvFreq();
        // F32 whatever the model's dtype: RoPE angles of BF16 frequencies would be off at long positions.
        invFreq = registerFixedDtypeBuffer("inv_freq", Tensor.of(f, f.length), false);
    }

    private ProjectionWeights proj(String name) {
        return (ProjectionWeights) module(name);
    }

    /** Queries, keys and values of x [T, hidden], rotated: q [T, Hq, D], k and v [T, Hkv, D]. */
    Tensor[] qkv(Tensor x, Tensor positions) {
        long t = x.size(0);
        Tensor q = proj("q_proj").forward(x).view(t, cfg.heads(), cfg.headDim());
        Tensor k = proj("k_proj").forward(x).view(t, cfg.kvHeads(), cfg.headDim());
        Tensor v = proj("v_proj").forward(x).view(t, cfg.kvHeads(), cfg.headDim());
        if (cfg.qkNorm()) {
            q = ((RMSNorm) module("q_norm")).forward(q);
            k = ((RMSNorm) module("k_norm")).forward(k);
        }
        Tensor inv = buffer("inv_freq");
        return new Tensor[] {Rotary.rope(q, positions, inv.to(q.device())), Rotary.rope(k, positions, inv.to(k.device())), v};
    }

    /**
     * @param x         [T, hidden] packed tokens
     * @param positions I64 [T]
     * @param cuSeqlens I32 [docs + 1]
     * @return [T, hidden]
     */
    public Tensor forward(Tensor x, Tensor positions, Tensor cuSeqlens) {
        Tensor[] qkv = qkv(x, positions);
        Tensor o = attention.attend(qkv[0], qkv[1], qkv[2], AttentionOptions.causalMask().withCuSeqlens(cuSeqlens));
        return output(o);
    }

    /** Output projection of attention output o [T, Hq, D] -> [T, hidden]. */
    Tensor output(Tensor o) {
        return proj("o_proj").forward(o.reshape(o.size(0), (long) cfg.heads() * cfg.headDim()));
    }

    @Override
    public AttentionFunction attentionFunction() {
        return attention;
    }

    @Override
    public void setAttentionFunction(AttentionFunction f) {
        attention = f == null ? AttentionFunction.LOCAL : f;
    }

    TextModelConfig config() {
        return cfg;
    }
}
