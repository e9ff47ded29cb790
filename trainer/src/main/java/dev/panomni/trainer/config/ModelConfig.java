package dev.panomni.trainer.config;

/**
 * {@code model:} what to train. The architecture comes from a size preset of the family
 * ({@link ModelPresets}), from a Hugging Face checkpoint directory ({@code hf_path}), or from
 * explicit dimensions; explicit dimensions override the preset's. After resolution
 * ({@link ConfigLoader}) the dimension fields hold the preset's values unless {@code hf_path} is
 * the source, where they stay null until the checkpoint's own config is read.
 *
 * @param family              model family ({@code tiny}, {@code qwen3}, {@code qwen3_moe}, {@code qwen2}, {@code llama})
 * @param size                a preset name of the family (e.g. {@code 0.6b}), or null
 * @param hfPath              directory of a Hugging Face checkpoint (config.json, safetensors), or null
 * @param dtype               parameter storage format
 * @param vocabSize           vocabulary size (tokens)
 * @param hiddenSize          residual stream width
 * @param numLayers           decoder layers
 * @param numHeads            query heads
 * @param numKvHeads          key/value heads (grouped-query attention; divides num_heads)
 * @param headDim             width of one attention head
 * @param intermediateSize    dense MLP hidden width
 * @param maxSeqLen           longest sequence the position encoding is meant for (tokens)
 * @param ropeTheta           rotary embedding base
 * @param normEps             RMSNorm epsilon
 * @param tieEmbeddings       whether the output projection shares the token embedding
 * @param numExperts          routed experts per MoE layer (0 for dense models)
 * @param expertsPerToken     experts each token is routed to (0 for dense models)
 * @param moeIntermediateSize hidden width of one expert (0 for dense models)
 */
public record ModelConfig(
        ModelFamily family,
        String size,
        String hfPath,
        Precision dtype,
        Integer vocabSize,
        Integer hiddenSize,
        Integer numLayers,
        Integer numHeads,
        Integer numKvHeads,
        Integer headDim,
        Integer intermediateSize,
        Integer maxSeqLen,
        Double ropeTheta,
        Double normEps,
        Boolean tieEmbeddings,
        Integer numExperts,
        Integer expertsPerToken,
        Integer moeIntermediateSize) {

    /** The {@code tiny} family in fp32; resolution picks its {@code demo} preset when nothing else is given. */
    public static ModelConfig defaults() {
        return new ModelConfig(ModelFamily.TINY, null, null, Precision.FP32,
                null, null, null, null, null, null, null, null, null, null, null, null, null, null);
    }

    /** True when every architecture dimension is known (always, unless only {@code hf_path} gives them). */
    public boolean hasDims() {
        return vocabSize != null && hiddenSize != null && numLayers != null && numHeads != null
                && numKvHeads != null && headDim != null && intermediateSize != null && maxSeqLen != null
                && ropeTheta != null && normEps != null && tieEmbeddings != null && numExperts != null
                && expertsPerToken != null && moeIntermediateSize != null;
    }

    /** The resolved dimensions; throws when {@link #hasDims()} is false. */
    public ModelDims dims() {
        if (!hasDims()) {
            throw new IllegalStateException("model dimensions are not resolved (they come from hf_path '" + hfPath
                    + "' when the checkpoint is read)");
        }
        return new ModelDims(vocabSize, hiddenSize, numLayers, numHeads, numKvHeads, headDim, intermediateSize,
                maxSeqLen, ropeTheta, normEps, tieEmbeddings, numExperts, expertsPerToken, moeIntermediateSize);
    }

    /** This config with every null dimension taken from {@code d}. */
    public ModelConfig withDefaultsFrom(ModelDims d) {
        return new ModelConfig(family, size, hfPath, dtype,
                or(vocabSize, d.vocabSize()), or(hiddenSize, d.hiddenSize()), or(numLayers, d.numLayers()),
                or(numHeads, d.numHeads()), or(numKvHeads, d.numKvHeads()), or(headDim, d.headDim()),
                or(intermediateSize, d.intermediateSize()), or(maxSeqLen, d.maxSeqLen()),
                or(ropeTheta, d.ropeTheta()), or(normEps, d.normEps()), or(tieEmbeddings, d.tieEmbeddings()),
                or(numExperts, d.numExperts()), or(expertsPerToken, d.expertsPerToken()),
                or(moeIntermediateSize, d.moeIntermediateSize()));
    }

    private static <T> T or(T value, T fallback) {
        return value != null ? value : fallback;
    }
}
