package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * Which keys of a key block each query of a query block sees, given by token metadata rather than
 * by offsets, so the two blocks may come from anywhere in a sequence (ring attention passes key
 * blocks between ranks): key j is visible to query i when they belong to the same document and,
 * for causal attention, key j's position is not after query i's.
 *
 * @param queryPositions I64 or I32 [Tq] position of each query (any order-preserving numbering
 *                       within a document: position in the document, or index in the sequence)
 * @param keyPositions   I64 or I32 [Tk], numbered like the queries
 * @param queryDocuments I32 or I64 [Tq] document id of each query
 * @param keyDocuments   I32 or I64 [Tk] document id of each key
 * @param causal         whether keys after the query are hidden
 */
public record BlockMask(Tensor queryPositions, Tensor keyPositions, Tensor queryDocuments, Tensor keyDocuments,
                        boolean causal) {
}
