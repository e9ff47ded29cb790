package dev.panomni.parallel.sp;

import java.util.Arrays;

/**
 * How one packed sequence (a data-parallel rank's batch) is split over the sp ranks. The sequence,
 * padded at its end to {@link #paddedTokens()} (the padding is a document of its own that takes no
 * loss), is cut into equal chunks:
 * <ul>
 *   <li>{@link Sharding#CONTIGUOUS} (Ulysses): sp chunks, rank r holds chunk r;</li>
 *   <li>{@link Sharding#LOAD_BALANCED} (ring attention): 2 sp chunks, rank r holds chunks r and
 *       2 sp - 1 - r, so every rank has the same share of causal attention work.</li>
 * </ul>
 *
 * @param sharding     the chunking
 * @param sp           sequence-parallel degree
 * @param cuSeqlens    document starts of the padded sequence, 0 first and paddedTokens last
 * @param realTokens   tokens before padding
 */
public record SequenceLayout(Sharding sharding, int sp, int[] cuSeqlens, long realTokens) {
    /** How the padded sequence is cut. */
    public enum Sharding { CONTIGUOUS, LOAD_BALANCED }

    public SequenceLayout {
        cuSeqlens = cuSeqlens.clone();
        if (sp < 1 || cuSeqlens.length < 2 || cuSeqlens[0] != 0) {
            throw new IllegalArgumentException("sequence layout: sp " + sp + ", cuSeqlens " + Arrays.toString(cuSeqlens));
        }
        long padded = cuSeqlens[cuSeqlens.length - 1];
        if (padded % chunks(sharding, sp) != 0) {
            throw new IllegalArgumentException("sequence layout: " + padded + " tokens do not split into "
                    + chunks(sharding, sp) + " equal chunks");
        }
    }

    private static int chunks(Sharding s, int sp) {
        return s == Sharding.LOAD_BALANCED ? 2 * sp : sp;
    }

    /** Tokens of the padded sequence. */
    public long paddedTokens() {
        return cuSeqlens[cuSeqlens.length - 1];
    }

    /** Tokens each rank holds. */
    public long localTokens() {
        return paddedTokens() / sp;
    }

    /** Tokens per chunk. */
    public long chunkTokens() {
        return paddedTokens() / chunks(sharding, sp);
    }

    /** Global index (in the padded sequence) of rank {@code rank}'s local token {@code i}. */
    public long globalIndex(int rank, long i) {
        if (sharding == Sharding.CONTIGUOUS) {
            return rank * localTokens() + i;
        }
        long c = chunkTokens();
        return i < c ? rank * c + i : (2L * sp - 1 - rank) * c + (i - c);
    }

    /** Global indices of rank {@code rank}'s tokens, in local order. */
    public long[] globalIndices(int rank) {
        long[] out = new long[(int) localTokens()];
        for (int i = 0; i < out.length; i++) {
            out[i] = globalIndex(rank, i);
        }
        return out;
    }

    /** Document number of every token of the padded sequence. */
    public int[] documentIds() {
        int[] out = new int[(int) paddedTokens()];
        for (int d = 0; d + 1 < cuSeqlens.length; d++) {
            Arrays.fill(out, cuSeqlens[d], cuSeqlens[d + 1], d);
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SequenceLayout l && sharding == l.sharding && sp == l.sp && realTokens == l.realTokens
                && Arrays.equals(cuSeqlens, l.cuSeqlens);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(cuSeqlens) * 31 + sharding.hashCode() + sp;
    }

    @Override
    public String toString() {
        return "SequenceLayout[" + sharding + ", sp " + sp + ", " + realTokens + " tokens padded to " + paddedTokens()
                + ", " + (cuSeqlens.length - 1) + " documents]";
    }
}
