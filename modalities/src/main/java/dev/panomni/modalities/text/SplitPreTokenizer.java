package dev.panomni.modalities.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code Split} pre-tokenizer: cuts a piece at the matches of a regex (or literal string) and
 * keeps, drops or attaches the matches according to the behavior.
 *
 * <p>Regexes are written for Oniguruma, which the {@code tokenizers} library uses; they are compiled
 * here with {@link Pattern#UNICODE_CHARACTER_CLASS} so that {@code \s}, {@code \w}, {@code \d} and
 * case-insensitive groups are Unicode-aware as they are in Oniguruma on UTF-8 text (without the
 * flag, Java's {@code \s} would miss U+00A0, U+3000 and the other non-ASCII spaces). The patterns
 * of GPT-2, Qwen2/Qwen3 and Llama 3 use only constructs the two engines share: {@code \p{L}},
 * {@code \p{N}}, scoped {@code (?i:...)}, lookahead {@code (?!\S)}, possessive and greedy
 * quantifiers, with the same leftmost-first alternation.
 */
final class SplitPreTokenizer implements PreTokenizer {
    /** What happens to the matched delimiters. */
    enum Behavior { REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS }

    private final Pattern pattern;
    private final Behavior behavior;
    private final boolean invert;

    SplitPreTokenizer(Pattern pattern, Behavior behavior, boolean invert) {
        this.pattern = pattern;
        this.behavior = behavior;
        this.invert = invert;
    }

    /** Compiles an Oniguruma-style pattern from a tokenizer.json. */
    static Pattern compileRegex(String regex) {
        return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
    }

    /** Parses a behavior name as tokenizer.json writes it ("Isolated", "MergedWithPrevious", ...). */
    static Behavior behavior(String name) {
        String snake = name.replaceAll("([a-z])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT);
        try {
            return Behavior.valueOf(snake);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown Split behavior '" + name
                    + "' (known: Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous)");
        }
    }

    @Override
    public void split(Piece piece, List<Piece> out) {
        String text = piece.text();
        // (start, end, isDelimiter) triples, as the reference's find_matches produces them.
        List<int[]> parts = new ArrayList<>();
        if (text.isEmpty()) {
            return;
        }
        Matcher m = pattern.matcher(text);
        int prev = 0;
        while (m.find()) {
            if (m.start() == m.end()) {
                continue;
            }
            if (prev != m.start()) {
                parts.add(new int[] {prev, m.start(), invert ? 1 : 0});
            }
            parts.add(new int[] {m.start(), m.end(), invert ? 0 : 1});
            prev = m.end();
        }
        if (prev != text.length()) {
            parts.add(new int[] {prev, text.length(), invert ? 1 : 0});
        }
        switch (behavior) {
            case ISOLATED -> {
                for (int[] p : parts) {
                    emit(piece, p[0], p[1], out);
                }
            }
            case REMOVED -> {
                for (int[] p : parts) {
                    if (p[2] == 0) {
                        emit(piece, p[0], p[1], out);
                    }
                }
            }
            case MERGED_WITH_PREVIOUS -> {
                // A delimiter joins the piece before it, unless that piece was a delimiter too.
                List<int[]> acc = new ArrayList<>();
                boolean previousMatch = false;
                for (int[] p : parts) {
                    if (p[2] == 1 && !previousMatch && !acc.isEmpty()) {
                        acc.get(acc.size() - 1)[1] = p[1];
                    } else {
                        acc.add(new int[] {p[0], p[1]});
                    }
                    previousMatch = p[2] == 1;
                }
                acc.forEach(p -> emit(piece, p[0], p[1], out));
            }
            case MERGED_WITH_NEXT -> {
                // Mirror image: walk backwards, a delimiter joins the piece after it.
                List<int[]> acc = new ArrayList<>();
                boolean previousMatch = false;
                for (int i = parts.size() - 1; i >= 0; i--) {
                    int[] p = parts.get(i);
                    if (p[2] == 1 && !previousMatch && !acc.isEmpty()) {
                        acc.get(acc.size() - 1)[0] = p[0];
                    } else {
                        acc.add(new int[] {p[0], p[1]});
                    }
                    previousMatch = p[2] == 1;
                }
                for (int i = acc.size() - 1; i >= 0; i--) {
                    emit(piece, acc.get(i)[0], acc.get(i)[1], out);
                }
            }
            case CONTIGUOUS -> {
                List<int[]> acc = new ArrayList<>();
                boolean previousMatch = false;
                for (int[] p : parts) {
                    if (p[2] == 1 == previousMatch && !acc.isEmpty()) {
                        acc.get(acc.size() - 1)[1] = p[1];
                    } else {
                        acc.add(new int[] {p[0], p[1]});
                    }
                    previousMatch = p[2] == 1;
                }
                acc.forEach(p -> emit(piece, p[0], p[1], out));
            }
        }
    }

    private static void emit(Piece piece, int start, int end, List<Piece> out) {
        if (end > start) {
            out.add(piece.slice(start, end));
        }
    }
}
