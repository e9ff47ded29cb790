package dev.panomni.bench.parallel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Every rank's result of every phase of one job (the lengths of a sequence sweep, or the single
 * phase of a scaling run), filled in by the rank threads as they finish each phase. A phase is
 * complete once every rank has stored its result; a failed job leaves the later phases incomplete.
 */
final class PhaseResults {
    private final int ranks;
    private final long[] tokens;
    private final RankResult[][] results;

    /** @param tokens each phase's tokens per step over all ranks */
    PhaseResults(int ranks, long[] tokens) {
        this.ranks = ranks;
        this.tokens = tokens.clone();
        this.results = new RankResult[tokens.length][ranks];
    }

    synchronized void put(int phase, int rank, RankResult r) {
        results[phase][rank] = r;
    }

    synchronized boolean isComplete(int phase) {
        return Arrays.stream(results[phase]).allMatch(r -> r != null);
    }

    /** How many phases completed, counted from the first (a job runs them in order). */
    synchronized int completed() {
        int n = 0;
        while (n < results.length && isComplete(n)) {
            n++;
        }
        return n;
    }

    /** A complete phase's measurement. */
    synchronized Measurement measurement(int phase) {
        if (!isComplete(phase)) {
            throw new IllegalStateException("phase " + phase + " is not complete");
        }
        return new Measurement(ranks, tokens[phase], new ArrayList<>(List.of(results[phase])));
    }
}
