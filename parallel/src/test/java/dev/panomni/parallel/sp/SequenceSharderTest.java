package dev.panomni.parallel.sp;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SequenceSharderTest {
    // Two documents of 5 and 6 tokens: 11 tokens.
    static final long[] IDS = {10, 11, 12, 13, 14, 20, 21, 22, 23, 24, 25};
    static final long[] POS = {0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5};
    static final int[] CU = {0, 5, 11};
    static final long[] LABELS = {11, 12, 13, 14, -100, 21, 22, 23, 24, 25, -100};

    @Test
    void loadBalancedShardingGivesRankRChunksRAndTwoSpMinusOneMinusR() {
        // sp 2: 4 chunks of 3 tokens (11 padded to 12); rank 0 holds chunks 0 and 3, rank 1 chunks 1 and 2.
        SequenceShard r0 = SequenceSharder.shard(IDS, POS, CU, LABELS, -100, SequenceLayout.Sharding.LOAD_BALANCED, 2, 0);
        SequenceShard r1 = SequenceSharder.shard(IDS, POS, CU, LABELS, -100, SequenceLayout.Sharding.LOAD_BALANCED, 2, 1);
        assertArrayEquals(new long[] {10, 11, 12, 24, 25, 0}, r0.ids());
        assertArrayEquals(new long[] {0, 1, 2, 4, 5, 0}, r0.positions(), "positions kept; padding starts its own document");
        assertArrayEquals(new long[] {11, 12, 13, 25, -100, -100}, r0.labels(), "labels from the unsharded sequence");
        assertArrayEquals(new int[] {0, 3, 5, 6}, r0.cuSeqlens(), "a new local document at each chunk or document start");
        assertArrayEquals(new long[] {13, 14, 20, 21, 22, 23}, r1.ids());
        assertArrayEquals(new int[] {0, 2, 6}, r1.cuSeqlens());
        assertArrayEquals(new int[] {0, 5, 11, 12}, r0.layout().cuSeqlens(), "padding is a document of its own");
        assertArrayEquals(new long[] {0, 1, 2, 9, 10, 11}, r0.layout().globalIndices(0));
        assertEquals(11, r0.layout().realTokens());
    }

    @Test
    void contiguousShardingCutsEqualRuns() {
        SequenceShard r2 = SequenceSharder.shard(IDS, POS, CU, LABELS, -100, SequenceLayout.Sharding.CONTIGUOUS, 3, 2);
        assertArrayEquals(new long[] {23, 24, 25, 0}, r2.ids());
        assertArrayEquals(new long[] {3, 4, 5, 0}, r2.positions());
        assertArrayEquals(new long[] {24, 25, -100, -100}, r2.labels());
        assertArrayEquals(new int[] {0, 3, 4}, r2.cuSeqlens());
    }

    @Test
    void badInputNamesTheProblem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SequenceSharder.shard(IDS, POS,
                new int[] {0, 5, 10}, LABELS, -100, SequenceLayout.Sharding.CONTIGUOUS, 2, 0));
        assertEquals(true, e.getMessage().contains("cuSeqlens must run from 0 to 11"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SequenceSharder.shard(IDS, POS, CU, LABELS, -100,
                SequenceLayout.Sharding.CONTIGUOUS, 2, 2));
    }
}
