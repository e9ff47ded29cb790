package dev.panomni.parallel.sp;

/**
 * One sp rank's part of a packed sequence, as host arrays (the caller builds its batch type from
 * them).
 *
 * @param ids       token ids of this rank's tokens, in local order
 * @param positions each token's position within its document (as in the unsharded batch)
 * @param labels    each token's next-token label from the unsharded batch (ignore index on padding)
 * @param cuSeqlens document boundaries among the local tokens (0 first, local count last): where
 *                  documents or chunks start, for code that treats the local tokens on their own
 * @param layout    the whole sequence's layout, which sequence-parallel attention needs
 */
public record SequenceShard(long[] ids, long[] positions, long[] labels, int[] cuSeqlens, SequenceLayout layout) {
}
