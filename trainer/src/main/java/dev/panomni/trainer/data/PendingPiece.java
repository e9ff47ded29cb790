package dev.panomni.trainer.data;

/**
 * The part of a document not yet placed in a batch: it starts at token {@code start} of the
 * document at {@code ref} (a document that did not fit the last batch, or the rest of a split one).
 */
public record PendingPiece(DocRef ref, int start) {
}
