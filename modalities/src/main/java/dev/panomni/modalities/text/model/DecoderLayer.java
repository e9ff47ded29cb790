package dev.panomni.modalities.text.model;

import dev.panomni.nn.Module;
import dev.panomni.nn.RMSNorm;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.random.Generator;

/** One pre-norm decoder block: {@code x + attn(norm(x))}, then {@code h + mlp(norm(h))}. */
public final class DecoderLayer extends Module {
    private final boolean moe;

    DecoderLayer(TextModelConfig cfg, int index, Generator gen) {
        this.moe = cfg.isMoeLayer(index);
        registerModule("self_attn", new SelfAttention(cfg, gen));
        registerModule("mlp", moe ? new SparseMoe(cfg, gen) : new DenseMlp(cfg.hidden(), cfg.intermediate(), gen));
        registerModule("input_layernorm", new RMSNorm(cfg.hidden(), cfg.rmsNormEps()));
        registerModule("post_attention_layernorm", new RMSNorm(cfg.hidden(), cfg.rmsNormEps()));
    }

    /** x [T, hidden] -> [T, hidden]. */
    public Tensor forward(Tensor x, Tensor positions, Tensor cuSeqlens) {
        Tensor a = attention().forward(((RMSNorm) module("input_layernorm")).forward(x), positions, cuSeqlens);
        Tensor h = Arith.add(x, a);
        Tensor n = ((RMSNorm) module("post_attention_layernorm")).forward(h);
        Tensor m = moe ? ((SparseMoe) module("mlp")).forward(n) : ((DenseMlp) module("mlp")).forward(n);
        return Arith.add(h, m);
    }

    /** Generation step: like {@link #forward} for new tokens x [n, hidden] after the cached ones. */
    Tensor forwardCached(Tensor x, Tensor positions, KvCache cache, int index, long start) {
        SelfAttention attn = attention();
        Tensor[] qkv = attn.qkv(((RMSNorm) module("input_layernorm")).forward(x), positions);
        Tensor[] kv = cache.append(index, qkv[1], qkv[2]);
        Tensor a = attn.output(TextGeneration.cachedAttention(qkv[0], kv[0], kv[1], start));
        Tensor h = Arith.add(x, a);
        Tensor n = ((RMSNorm) module("post_attention_layernorm")).forward(h);
        Tensor m = moe ? ((SparseMoe) module("mlp")).forward(n) : ((DenseMlp) module("mlp")).forward(n);
        return Arith.add(h, m);
    }

    public SelfAttention attention() {
        return (SelfAttention) module("self_attn");
    }

    public boolean isMoe() {
        return moe;
    }

    /** The MoE block, or null for a dense layer. */
    public SparseMoe moe() {
        return moe ? (SparseMoe) module("mlp") : null;
    }
}
