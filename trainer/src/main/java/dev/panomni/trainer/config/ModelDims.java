package dev.panomni.trainer.config;

/**
 * A decoder's architecture, fully resolved (see {@link ModelConfig} for the meaning of each field).
 * Dense models have {@code numExperts == expertsPerToken == moeIntermediateSize == 0}.
 */
public record ModelDims(
        int vocabSize,
        int hiddenSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int intermediateSize,
        int maxSeqLen,
        double ropeTheta,
        double normEps,
        boolean tieEmbeddings,
        int numExperts,
        int expertsPerToken,
        int moeIntermediateSize) {

    /** Dense decoder dimensions. */
    public static ModelDims dense(int vocab, int hidden, int layers, int heads, int kvHeads, int headDim,
                                  int intermediate, int maxSeqLen, double ropeTheta, double normEps, boolean tie) {
        return new ModelDims(vocab, hidden, layers, heads, kvHeads, headDim, intermediate, maxSeqLen, ropeTheta,
                normEps, tie, 0, 0, 0);
    }

    /** Mixture-of-Experts decoder dimensions (every layer routed). */
    public static ModelDims moe(int vocab, int hidden, int layers, int heads, int kvHeads, int headDim,
                                int intermediate, int maxSeqLen, double ropeTheta, double normEps, boolean tie,
                                int experts, int perToken, int expertIntermediate) {
        return new ModelDims(vocab, hidden, layers, heads, kvHeads, headDim, intermediate, maxSeqLen, ropeTheta,
                normEps, tie, experts, perToken, expertIntermediate);
    }

    /**
     * Parameters of a decoder with these dimensions (embedding, attention, MLP or experts and routers,
     * norms, output head unless tied). Used for MFU and for the run summary.
     */
    public long parameterCount() {
        long h = hiddenSize;
        long q = (long) numHeads * headDim;
        long kv = (long) numKvHeads * headDim;
        long attention = h * q + 2 * h * kv + q * h + 2L * headDim; // q, k, v, o; q/k norms (Qwen3)
        long mlp = numExperts > 0
                ? (long) numExperts * 3 * h * moeIntermediateSize + h * numExperts
                : 3 * h * intermediateSize;
        long perLayer = attention + mlp + 2 * h;
        long embeddings = (long) vocabSize * h * (tieEmbeddings ? 1 : 2);
        return embeddings + numLayers * perLayer + h;
    }

    /** Parameters one token passes through (routed experts counted {@code expertsPerToken} times). */
    public long activeParameterCount() {
        if (numExperts == 0) {
            return parameterCount();
        }
        long inactive = (long) (numExperts - expertsPerToken) * 3 * hiddenSize * moeIntermediateSize * numLayers;
        return parameterCount() - inactive;
    }

    /**
     * Training FLOPs per token at sequence length {@code seqLen}: 6 per active non-embedding
     * parameter plus the attention scores and values (12 * layers * heads * headDim * seqLen / 2
     * for causal attention), the usual estimate behind MFU.
     */
    public double trainingFlopsPerToken(int seqLen) {
        long nonEmbedding = activeParameterCount() - (long) vocabSize * hiddenSize * (tieEmbeddings ? 1 : 2);
        double dense = 6.0 * (nonEmbedding + (long) vocabSize * hiddenSize); // the output head is a matmul
        double attention = 12.0 * numLayers * numHeads * headDim * seqLen / 2.0;
        return dense + attention;
    }
}
