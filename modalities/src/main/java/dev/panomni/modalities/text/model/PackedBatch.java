package dev.panomni.modalities.text.model;

import dev.panomni.tensor.Tensor;

/**
 * A batch of token sequences packed into one row, the layout every text model takes: documents
 * are concatenated, attention never crosses a document boundary, and positions restart at 0 for
 * each document.
 *
 * @param ids       I64 [T] token ids
 * @param positions I64 [T] position of each token within its document
 * @param cuSeqlens I32 [docs + 1] document start offsets, ending with T
 * @param labels    I64 [T] next-token targets with -100 where no loss is taken, or null
 */
public record PackedBatch(Tensor ids, Tensor positions, Tensor cuSeqlens, Tensor labels) {
    /** The label value that takes no loss. */
    public static final long IGNORE = -100;

    /** Number of tokens T. */
    public long tokens() {
        return ids.size(0);
    }

    /**
     * Packs documents (host arrays of ids) into one batch whose labels are each document's next
     * tokens (the last token of each document takes no loss).
     */
    public static PackedBatch of(long[]... documents) {
        int total = 0;
        for (long[] d : documents) {
            total += d.length;
        }
        long[] ids = new long[total];
        long[] pos = new long[total];
        long[] labels = new long[total];
        int[] cu = new int[documents.length + 1];
        int at = 0;
        for (int i = 0; i < documents.length; i++) {
            long[] d = documents[i];
            for (int j = 0; j < d.length; j++) {
                ids[at + j] = d[j];
                pos[at + j] = j;
                labels[at + j] = j + 1 < d.length ? d[j + 1] : IGNORE;
            }
            at += d.length;
            cu[i + 1] = at;
        }
        return new PackedBatch(Tensor.ofLongs(ids, total), Tensor.ofLongs(pos, total), Tensor.ofInts(cu, cu.length),
                Tensor.ofLongs(labels, total));
    }

    /** This batch with every tensor moved to {@code device}. */
    public PackedBatch to(dev.panomni.tensor.Device device) {
        return new PackedBatch(ids.to(device), positions.to(device), cuSeqlens.to(device),
                labels == null ? null : labels.to(device));
    }
}
