package dev.panomni.parallel.sp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The collator step of sequence parallelism: pads a packed sequence to a multiple of the chunk
 * count (the padding becomes its own document, with ignored labels) and cuts out one rank's tokens,
 * keeping positions, labels and document boundaries.
 */
public final class SequenceSharder {
    private SequenceSharder() {
    }

    /**
     * @param ids         [T] token ids of the packed sequence
     * @param positions   [T] position of each token within its document
     * @param cuSeqlens   [docs + 1] document starts, 0 first and T last
     * @param labels      [T] next-token labels (computed on the unsharded sequence)
     * @param ignoreIndex the label that takes no loss (used for padding)
     * @param sharding    contiguous (Ulysses) or load-balanced (ring)
     * @param sp          ranks
     * @param rank        the rank whose part to return
     */
    public static SequenceShard shard(long[] ids, long[] positions, int[] cuSeqlens, long[] labels, long ignoreIndex,
                                      SequenceLayout.Sharding sharding, int sp, int rank) {
        int t = ids.length;
        if (positions.length != t || labels.length != t || cuSeqlens.length < 2 || cuSeqlens[0] != 0
                || cuSeqlens[cuSeqlens.length - 1] != t) {
            throw new IllegalArgumentException("sequence shard: ids, positions and labels must have one entry per token ("
                    + t + ") and cuSeqlens must run from 0 to " + t + ", got " + positions.length + ", " + labels.length
                    + " and " + Arrays.toString(cuSeqlens));
        }
        if (rank < 0 || rank >= sp) {
            throw new IllegalArgumentException("sequence shard: rank " + rank + " outside sp = " + sp);
        }
        int chunks = sharding == SequenceLayout.Sharding.LOAD_BALANCED ? 2 * sp : sp;
        int padded = (t + chunks - 1) / chunks * chunks;
        if (padded == 0) {
            padded = chunks;
        }
        int[] cu = cuSeqlens;
        if (padded > t) {
            cu = Arrays.copyOf(cuSeqlens, cuSeqlens.length + 1);
            cu[cu.length - 1] = padded;
        }
        SequenceLayout layout = new SequenceLayout(sharding, sp, cu, t);
        int local = (int) layout.localTokens();
        long[] gids = layout.globalIndices(rank);
        int[] doc = layout.documentIds();
        long[] outIds = new long[local];
        long[] outPos = new long[local];
        long[] outLab = new long[local];
        List<Integer> localCu = new ArrayList<>();
        localCu.add(0);
        for (int i = 0; i < local; i++) {
            int g = (int) gids[i];
            if (g < t) {
                outIds[i] = ids[g];
                outPos[i] = positions[g];
                outLab[i] = labels[g];
            } else {
                outIds[i] = 0;
                outPos[i] = g - t;
                outLab[i] = ignoreIndex;
            }
            boolean starts = i > 0 && (gids[i] != gids[i - 1] + 1 || doc[g] != doc[(int) gids[i - 1]]);
            if (starts) {
                localCu.add(i);
            }
        }
        localCu.add(local);
        return new SequenceShard(outIds, outPos, outLab, localCu.stream().mapToInt(Integer::intValue).toArray(), layout);
    }
}
