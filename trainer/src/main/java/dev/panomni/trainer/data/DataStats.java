package dev.panomni.trainer.data;

/**
 * What a loader has produced so far (carried across restarts in its state).
 *
 * @param batches            micro-batches returned
 * @param documents          documents tokenized and used
 * @param tokens             tokens placed in batches
 * @param targetTokens       tokens with a training target (labels other than -100)
 * @param truncatedDocuments documents cut to data.seq_len (overlong: truncate)
 * @param droppedTokens      tokens lost to truncation
 * @param splitDocuments     documents cut into several sequences (overlong: split)
 * @param skippedDocuments   documents with nothing to learn (no target after the first token)
 */
public record DataStats(long batches, long documents, long tokens, long targetTokens, long truncatedDocuments,
                        long droppedTokens, long splitDocuments, long skippedDocuments) {
    public static final DataStats ZERO = new DataStats(0, 0, 0, 0, 0, 0, 0, 0);
}
