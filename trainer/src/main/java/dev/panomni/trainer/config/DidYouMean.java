package dev.panomni.trainer.config;

import java.util.Collection;
import java.util.Locale;

/** Suggests the closest known word for a misspelt one (Levenshtein distance). */
public final class DidYouMean {
    private DidYouMean() {
    }

    /**
     * The candidate nearest to {@code word}, or null when none is plausibly meant: at most a third
     * of the word's length (and at least 2) edits away, or containing the word.
     */
    public static String suggest(String word, Collection<String> candidates) {
        String w = word.toLowerCase(Locale.ROOT);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String c : candidates) {
            int d = distance(w, c.toLowerCase(Locale.ROOT));
            if (d < bestDistance) {
                best = c;
                bestDistance = d;
            }
        }
        if (best == null) {
            return null;
        }
        int limit = Math.max(2, w.length() / 3);
        String b = best.toLowerCase(Locale.ROOT);
        return bestDistance <= limit || (w.length() >= 3 && (b.contains(w) || w.contains(b))) ? best : null;
    }

    /** Edit distance (insertions, deletions, substitutions), two-row dynamic programming. */
    public static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
