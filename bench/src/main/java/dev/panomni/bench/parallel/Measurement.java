package dev.panomni.bench.parallel;

import java.util.List;
import java.util.Locale;

/**
 * One measured configuration of {@link ScalingRunner}: its rank count, the tokens each step
 * trains over all ranks, and every rank's result.
 */
record Measurement(int ranks, long tokens, List<RankResult> perRank) {
    private static final double GIB = 1L << 30;

    /** Mean timed step of rank 0 (steps end at a barrier: every rank's time is the slowest's). */
    double meanStep() {
        double[] t = perRank.get(0).seconds();
        double sum = 0;
        for (double v : t) {
            sum += v;
        }
        return sum / t.length;
    }

    long parameters() {
        return perRank.get(0).parameters();
    }

    double tokensPerSecond() {
        return tokens / meanStep();
    }

    double tokensPerSecondPerRank() {
        return tokensPerSecond() / ranks;
    }

    /** "peak 20.1 / 20.3 GiB (ranks 0 / 1)", or a note that the CPU has no pool. */
    String peaks() {
        if (perRank.get(0).peakBytes() < 0) {
            return "peak memory n/a on the CPU";
        }
        StringBuilder gib = new StringBuilder();
        StringBuilder who = new StringBuilder();
        for (int r = 0; r < perRank.size(); r++) {
            gib.append(r == 0 ? "" : " / ").append(String.format(Locale.ROOT, "%.1f", perRank.get(r).peakBytes() / GIB));
            who.append(r == 0 ? "" : " / ").append(r);
        }
        return "peak " + gib + " GiB (rank" + (perRank.size() > 1 ? "s " : " ") + who + ")";
    }
}
