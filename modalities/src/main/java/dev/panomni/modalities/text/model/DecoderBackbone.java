package dev.panomni.modalities.text.model;

import dev.panomni.nn.Embedding;
import dev.panomni.nn.Module;
import dev.panomni.nn.ModuleList;
import dev.panomni.nn.RMSNorm;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.random.Generator;

/** Hugging Face's {@code model}: token embedding, the decoder layers, the final norm. */
public final class DecoderBackbone extends Module {
    private final ModuleList<DecoderLayer> layers;

    DecoderBackbone(TextModelConfig cfg, Generator gen) {
        registerModule("embed_tokens", new Embedding(cfg.vocabSize(), cfg.hidden(), gen, ModelInit.STD));
        layers = registerModule("layers", new ModuleList<DecoderLayer>());
        for (int i = 0; i < cfg.layers(); i++) {
            layers.add(new DecoderLayer(cfg, i, gen));
        }
        registerModule("norm", new RMSNorm(cfg.hidden(), cfg.rmsNormEps()));
    }

    public Embedding embedTokens() {
        return (Embedding) module("embed_tokens");
    }

    public ModuleList<DecoderLayer> layers() {
        return layers;
    }

    /** Final hidden states [T, hidden] of a packed batch. */
    public Tensor forward(PackedBatch batch, LayerRunner runner) {
        Tensor x = embedTokens().forward(batch.ids());
        for (int i = 0; i < layers.size(); i++) {
            x = runner.run(i, layers.get(i), x, batch.positions(), batch.cuSeqlens());
        }
        return ((RMSNorm) module("norm")).forward(x);
    }

    /**
     * How each decoder layer is invoked: directly, or wrapped (activation checkpointing, FSDP unit
     * hooks) by code outside the model.
     */
    @FunctionalInterface
    public interface LayerRunner {
        Tensor run(int index, DecoderLayer layer, Tensor x, Tensor positions, Tensor cuSeqlens);

        /** Calls the layer. */
        LayerRunner DIRECT = (i, layer, x, p, c) -> layer.forward(x, p, c);
    }
}
