package dev.panomni.trainer.data;

import dev.panomni.tensor.Tensor;

import java.util.Arrays;

/**
 * One micro-batch of packed token sequences in the flat ("varlen") layout: all rows concatenated
 * without padding, {@code T = tokens()} tokens in all. Documents never cross a row boundary, and
 * attention must not cross a document boundary ({@code cuSeqlens}).
 *
 * @param inputIds    [T] token ids
 * @param labels      [T] the next token of the same document when it is a training target, else
 *                    {@value #IGNORE_INDEX} (the last token of each document, non-assistant chat tokens)
 * @param positionIds [T] position within the document, restarting at 0 for each document
 * @param cuSeqlens   [documents + 1] cumulative document lengths: document d spans
 *                    {@code [cuSeqlens[d], cuSeqlens[d+1])}
 * @param rowOffsets  [rows + 1] cumulative row lengths (each row holds at most data.seq_len tokens;
 *                    every row boundary is also a document boundary)
 * @param maxSeqlen   the longest document (for varlen attention kernels)
 */
public record Batch(int[] inputIds, int[] labels, int[] positionIds, int[] cuSeqlens, int[] rowOffsets, int maxSeqlen) {
    /** The label of tokens that are not trained on (matches the cross-entropy ignore index). */
    public static final int IGNORE_INDEX = -100;

    /** Tokens in the batch (T). */
    public int tokens() {
        return inputIds.length;
    }

    /** Sequences (rows). */
    public int rows() {
        return rowOffsets.length - 1;
    }

    /** Documents (or document pieces) packed in the batch. */
    public int documents() {
        return cuSeqlens.length - 1;
    }

    /** Tokens whose label is a training target (the loss's denominator under MEAN reduction). */
    public int targetTokens() {
        int n = 0;
        for (int l : labels) {
            if (l != IGNORE_INDEX) {
                n++;
            }
        }
        return n;
    }

    /**
     * The flat layout as host tensors in the current scope: ids, labels and positions I64 [T],
     * cu_seqlens I32 [documents + 1] (the form {@code Attention.sdpa} takes).
     */
    public Tensors toTensors() {
        return new Tensors(Tensor.ofLongs(widen(inputIds), inputIds.length), Tensor.ofLongs(widen(labels), labels.length),
                Tensor.ofLongs(widen(positionIds), positionIds.length), Tensor.ofInts(cuSeqlens, cuSeqlens.length));
    }

    /**
     * The batch as a rectangle [rows, width] (width = the longest row), for models without varlen
     * attention: short rows are filled with {@code padId} and label {@value #IGNORE_INDEX}. Only
     * meaningful with one document per row (data.pack: false), since a rectangle loses the
     * document boundaries inside a row.
     */
    public Padded padded(int padId) {
        int rows = rows();
        int width = 0;
        for (int r = 0; r < rows; r++) {
            width = Math.max(width, rowOffsets[r + 1] - rowOffsets[r]);
        }
        int[] ids = new int[rows * width];
        int[] lab = new int[rows * width];
        int[] pos = new int[rows * width];
        Arrays.fill(ids, padId);
        Arrays.fill(lab, IGNORE_INDEX);
        for (int r = 0; r < rows; r++) {
            int from = rowOffsets[r];
            int len = rowOffsets[r + 1] - from;
            System.arraycopy(inputIds, from, ids, r * width, len);
            System.arraycopy(labels, from, lab, r * width, len);
            System.arraycopy(positionIds, from, pos, r * width, len);
        }
        return new Padded(rows, width, ids, lab, pos);
    }

    /** Flat-layout tensors (see {@link #toTensors()}). */
    public record Tensors(Tensor inputIds, Tensor labels, Tensor positionIds, Tensor cuSeqlens) {
    }

    /** A rectangular batch: arrays [rows * width], row-major. */
    public record Padded(int rows, int width, int[] inputIds, int[] labels, int[] positionIds) {
    }

    private static long[] widen(int[] a) {
        long[] out = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i];
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Batch b && maxSeqlen == b.maxSeqlen && Arrays.equals(inputIds, b.inputIds)
                && Arrays.equals(labels, b.labels) && Arrays.equals(positionIds, b.positionIds)
                && Arrays.equals(cuSeqlens, b.cuSeqlens) && Arrays.equals(rowOffsets, b.rowOffsets);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(inputIds) * 31 + Arrays.hashCode(cuSeqlens);
    }

    @Override
    public String toString() {
        return "Batch[tokens=" + tokens() + ", rows=" + rows() + ", documents=" + documents() + ", cuSeqlens="
                + Arrays.toString(cuSeqlens) + "]";
    }
}
