package dev.panomni.trainer.metrics;

import dev.panomni.modalities.text.model.TextModelConfig;

/**
 * Training FLOPs per token of a decoder, the usual estimate behind MFU: 6 per active matmul
 * parameter (forward 2, backward 4; the input embedding is a lookup, the output head a matmul)
 * plus causal attention's scores and weighted values, 6 * layers * heads * headDim * seqLen.
 */
public final class ModelFlops {
    private ModelFlops() {
    }

    /** FLOPs of one trained token at sequence length {@code seqLen} (documents as long as a row). */
    public static double trainingFlopsPerToken(TextModelConfig c, int seqLen) {
        long h = c.hidden();
        long embedding = (long) c.vocabSize() * h;
        long params = c.parameterCount() - embedding * (c.tieEmbeddings() ? 1 : 2);
        long inactive = 0;
        for (int i = 0; i < c.layers(); i++) {
            if (c.isMoeLayer(i)) {
                inactive += (long) (c.experts() - c.expertsPerToken()) * 3L * h * c.moeIntermediate();
            }
        }
        double matmul = 6.0 * (params - inactive + embedding);
        double attention = 6.0 * c.layers() * c.heads() * c.headDim() * (double) seqLen;
        return matmul + attention;
    }
}
