package dev.panomni.parallel.ep;

/**
 * The host side of one expert-parallel dispatch: which tokens go to which rank, where each routed
 * row finds its token there, and how the received rows regroup by local expert. Built in two
 * stages around the counts exchange: {@link #outgoing} from this rank's routing alone, then
 * {@link #of} once every rank's counts are known. Pure host arithmetic, no tensors; its time is spent
 * while the GPU waits, once per MoE layer and forward ({@code ExpertRoutingBenchmark} measures it).
 *
 * @param sendTokens   [ranks] tokens sent to each rank
 * @param recvTokens   [ranks] tokens received from each rank
 * @param sendRows     [ranks] routed rows sent to each rank (their experts live there)
 * @param recvRows     [ranks] routed rows received from each rank
 * @param tokenIds     [sum(sendTokens)] the tokens sent, per destination rank, ascending within one
 * @param rowIndex     [rows] each sent row's token as an index into everything its destination receives
 * @param grouped      [sum(recvRows)] position k of the grouped-by-local-expert order takes received row grouped[k]
 * @param ungrouped    the inverse permutation of {@code grouped}
 * @param offsets      [local experts + 1] row offsets of the grouping
 */
public record ExpertDispatchPlan(long[] sendTokens, long[] recvTokens, long[] sendRows, long[] recvRows,
                                 long[] tokenIds, long[] rowIndex, long[] grouped, long[] ungrouped,
                                 long[] offsets) {

    /**
     * What this rank sends, before any exchange.
     *
     * @param sendTokens [ranks] tokens for each destination
     * @param sendRows   [ranks] rows for each destination
     * @param tokenIds   the tokens for each destination, concatenated
     * @param rowPlace   [rows] the place of each row's token in its destination's list
     */
    public record Outgoing(long[] sendTokens, long[] sendRows, long[] tokenIds, int[] rowPlace) {
        /** This rank's share of the counts exchange: the per-expert rows, then the per-rank tokens. */
        public long[] countsRow(long[] tokensPerExpert) {
            long[] row = java.util.Arrays.copyOf(tokensPerExpert, tokensPerExpert.length + sendTokens.length);
            System.arraycopy(sendTokens, 0, row, tokensPerExpert.length, sendTokens.length);
            return row;
        }
    }

    /**
     * @param tokensPerExpert [E] rows per expert (rows sorted by expert)
     * @param rowToken        [rows] each sorted row's token, ascending within an expert
     * @param tokens          tokens on this rank (T)
     * @param ranks           the EP group's size; rank j owns experts [j * E/ranks, (j + 1) * E/ranks)
     */
    public static Outgoing outgoing(long[] tokensPerExpert, long[] rowToken, int tokens, int ranks) {
        int local = tokensPerExpert.length / ranks;
        long[] sendRows = new long[ranks];
        for (int e = 0; e < tokensPerExpert.length; e++) {
            sendRows[e / local] += tokensPerExpert[e];
        }
        int[] stamp = new int[tokens];
        int[] place = new int[tokens];
        long[] sendTokens = new long[ranks];
        long[] tokenIds = new long[rowToken.length];  // at most one per row
        int[] rowPlace = new int[rowToken.length];
        int sent = 0;
        int rowStart = 0;
        for (int j = 0; j < ranks; j++) {
            int rowEnd = rowStart + (int) sendRows[j];
            for (int r = rowStart; r < rowEnd; r++) {
                stamp[(int) rowToken[r]] = j + 1;
            }
            int first = sent;
            for (int t = 0; t < tokens; t++) {
                if (stamp[t] == j + 1) {
                    place[t] = sent - first;
                    tokenIds[sent++] = t;
                }
            }
            sendTokens[j] = sent - first;
            for (int r = rowStart; r < rowEnd; r++) {
                rowPlace[r] = place[(int) rowToken[r]];
            }
            rowStart = rowEnd;
        }
        return new Outgoing(sendTokens, sendRows, java.util.Arrays.copyOf(tokenIds, sent), rowPlace);
    }

    /**
     * @param out    this rank's {@link #outgoing} part
     * @param counts [source rank][E expert rows, then ranks token counts]: every rank's {@link Outgoing#countsRow}
     * @param me     this rank
     */
    public static ExpertDispatchPlan of(Outgoing out, long[][] counts, int me) {
        int ranks = counts.length;
        int experts = counts[0].length - ranks;
        int local = experts / ranks;
        long[] recvTokens = new long[ranks];
        long[] recvRows = new long[ranks];
        for (int j = 0; j < ranks; j++) {
            recvTokens[j] = counts[j][experts + me];
            for (int e = 0; e < local; e++) {
                recvRows[j] += counts[j][me * local + e];
            }
        }
        // At rank j the tokens of lower source ranks come first.
        long[] rowIndex = new long[out.rowPlace().length];
        int r = 0;
        for (int j = 0; j < ranks; j++) {
            long base = 0;
            for (int s = 0; s < me; s++) {
                base += counts[s][experts + j];
            }
            for (long c = 0; c < out.sendRows()[j]; c++, r++) {
                rowIndex[r] = base + out.rowPlace()[r];
            }
        }
        // Received rows come by source rank, then local expert; the grouped order is by local expert,
        // then source rank.
        int received = 0;
        for (long c : recvRows) {
            received += (int) c;
        }
        long[] grouped = new long[received];
        long[] ungrouped = new long[received];
        long[] offsets = new long[local + 1];
        long[] next = new long[ranks];           // next unread row of each source's run of expert e
        for (int j = 1; j < ranks; j++) {
            next[j] = next[j - 1] + recvRows[j - 1];
        }
        int k = 0;
        for (int e = 0; e < local; e++) {
            for (int j = 0; j < ranks; j++) {
                long c = counts[j][me * local + e];
                for (long i = 0; i < c; i++) {
                    long src = next[j]++;
                    grouped[k] = src;
                    ungrouped[(int) src] = k;
                    k++;
                }
            }
            offsets[e + 1] = k;
        }
        return new ExpertDispatchPlan(out.sendTokens(), recvTokens, out.sendRows(), recvRows, out.tokenIds(),
                rowIndex, grouped, ungrouped, offsets);
    }
}
