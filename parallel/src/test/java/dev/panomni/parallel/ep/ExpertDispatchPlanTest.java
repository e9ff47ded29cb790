package dev.panomni.parallel.ep;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The host plan of a dispatch, worked by hand for three ranks with one expert each. */
class ExpertDispatchPlanTest {
    // Tokens 0, 1, 2 choose experts {0, 1}, {1, 2}, {0, 2}; sorted by expert the rows' tokens are
    // expert 0: 0, 2; expert 1: 0, 1; expert 2: 1, 2.
    private static final long[] PER_EXPERT = {2, 2, 2};
    private static final long[] ROW_TOKEN = {0, 2, 0, 1, 1, 2};

    @Test
    void eachTokenGoesOncePerDestinationInTokenOrder() {
        ExpertDispatchPlan.Outgoing out = ExpertDispatchPlan.outgoing(PER_EXPERT, ROW_TOKEN, 3, 3);
        assertArrayEquals(new long[] {2, 2, 2}, out.sendTokens());
        assertArrayEquals(new long[] {2, 2, 2}, out.sendRows());
        assertArrayEquals(new long[] {0, 2, 0, 1, 1, 2}, out.tokenIds());
        assertArrayEquals(new int[] {0, 1, 0, 1, 0, 1}, out.rowPlace());
        assertArrayEquals(new long[] {2, 2, 2, 2, 2, 2}, out.countsRow(PER_EXPERT));
    }

    @Test
    void aTokenWithSeveralExpertsOnOneRankIsSentOnce() {
        // Two ranks of two experts; token 0 chooses experts 0 and 1 (both rank 0), token 1 experts 1 and 3.
        long[] perExpert = {1, 2, 0, 1};
        long[] rowToken = {0, 0, 1, 1};
        ExpertDispatchPlan.Outgoing out = ExpertDispatchPlan.outgoing(perExpert, rowToken, 2, 2);
        assertArrayEquals(new long[] {2, 1}, out.sendTokens());
        assertArrayEquals(new long[] {3, 1}, out.sendRows());
        assertArrayEquals(new long[] {0, 1, 1}, out.tokenIds());
        assertArrayEquals(new int[] {0, 0, 1, 0}, out.rowPlace());
    }

    @Test
    void rowsIndexIntoEverythingTheirDestinationReceivesAndRegroupByLocalExpert() {
        ExpertDispatchPlan.Outgoing out = ExpertDispatchPlan.outgoing(PER_EXPERT, ROW_TOKEN, 3, 3);
        // Rank 1 of three that routed alike: before its tokens at every destination come rank 0's two.
        long[][] counts = {out.countsRow(PER_EXPERT), out.countsRow(PER_EXPERT), out.countsRow(PER_EXPERT)};
        ExpertDispatchPlan p = ExpertDispatchPlan.of(out, counts, 1);
        assertArrayEquals(new long[] {2, 2, 2}, p.recvTokens());
        assertArrayEquals(new long[] {2, 2, 2}, p.recvRows());
        assertArrayEquals(new long[] {2, 3, 2, 3, 2, 3}, p.rowIndex());
        assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5}, p.grouped());
        assertArrayEquals(new long[] {0, 6}, p.offsets());
    }

    @Test
    void receivedRowsRegroupByExpertAcrossSources() {
        // Two ranks of two experts, rank 0's view: source 0 sends 1 row for expert 0 and 2 for expert 1,
        // source 1 sends 2 and 1. Received order: s0e0, s0e1, s0e1, s1e0, s1e0, s1e1.
        long[] perExpert = {1, 2, 0, 1};
        ExpertDispatchPlan.Outgoing out = ExpertDispatchPlan.outgoing(perExpert, new long[] {0, 0, 1, 1}, 2, 2);
        long[][] counts = {{1, 2, 0, 1, 2, 1}, {2, 1, 1, 1, 2, 2}};
        ExpertDispatchPlan p = ExpertDispatchPlan.of(out, counts, 0);
        assertArrayEquals(new long[] {0, 3, 4, 1, 2, 5}, p.grouped());
        assertArrayEquals(new long[] {0, 3, 4, 1, 2, 5}, p.ungrouped());
        assertArrayEquals(new long[] {0, 3, 6}, p.offsets());
        assertArrayEquals(new long[] {2, 2}, p.recvTokens());
    }
}
