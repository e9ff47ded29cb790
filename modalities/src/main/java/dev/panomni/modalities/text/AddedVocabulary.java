package dev.panomni.modalities.text;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds added tokens in text, leftmost first and, among matches starting at the same place, the
 * longest (the Aho-Corasick "leftmost-longest" order the {@code tokenizers} library uses), so
 * {@code <|im_start|>} wins over a shorter added token that is its prefix.
 */
final class AddedVocabulary {
    /**
     * A stretch of text: either an added token or plain text.
     *
     * @param start first char
     * @param end   one past the last char
     * @param token the added token, or null for plain text
     */
    record Segment(int start, int end, AddedToken token) {
    }

    private final Map<Character, List<AddedToken>> byFirstChar = new HashMap<>();

    /**
     * @param tokens    the tokens to find
     * @param contentOf the text each token matches (its content, or its normalized content)
     */
    AddedVocabulary(List<AddedToken> tokens, java.util.function.Function<AddedToken, String> contentOf) {
        Map<Character, List<AddedToken>> tmp = new HashMap<>();
        for (AddedToken t : tokens) {
            String c = contentOf.apply(t);
            if (!c.isEmpty()) {
                tmp.computeIfAbsent(c.charAt(0), k -> new ArrayList<>()).add(
                        new AddedToken(t.id(), c, t.special(), t.lstrip(), t.rstrip(), t.singleWord(), t.normalized()));
            }
        }
        tmp.forEach((k, v) -> {
            v.sort(Comparator.comparingInt((AddedToken t) -> t.content().length()).reversed());
            byFirstChar.put(k, v);
        });
    }

    boolean isEmpty() {
        return byFirstChar.isEmpty();
    }

    /** Splits {@code text} into plain stretches and added tokens (plain stretches may be empty-free). */
    List<Segment> split(String text) {
        List<Segment> out = new ArrayList<>();
        if (byFirstChar.isEmpty()) {
            if (!text.isEmpty()) {
                out.add(new Segment(0, text.length(), null));
            }
            return out;
        }
        int plainStart = 0;
        int i = 0;
        while (i < text.length()) {
            List<AddedToken> candidates = byFirstChar.get(text.charAt(i));
            AddedToken hit = null;
            if (candidates != null) {
                for (AddedToken t : candidates) {
                    if (text.startsWith(t.content(), i)) {
                        hit = t;
                        break;
                    }
                }
            }
            if (hit == null) {
                i++;
                continue;
            }
            int start = i;
            int stop = i + hit.content().length();
            if (hit.singleWord() && ((start > 0 && isWordChar(text.codePointBefore(start)))
                    || (stop < text.length() && isWordChar(text.codePointAt(stop))))) {
                i = stop; // the match is consumed but not used, as with the reference's non-overlapping search
                continue;
            }
            if (hit.lstrip()) {
                while (start > plainStart && isWhitespace(text.charAt(start - 1))) {
                    start--;
                }
            }
            if (hit.rstrip()) {
                while (stop < text.length() && isWhitespace(text.charAt(stop))) {
                    stop++;
                }
            }
            if (start > plainStart) {
                out.add(new Segment(plainStart, start, null));
            }
            out.add(new Segment(start, stop, hit));
            plainStart = stop;
            i = stop;
        }
        if (plainStart < text.length()) {
            out.add(new Segment(plainStart, text.length(), null));
        }
        return out;
    }

    private static boolean isWordChar(int cp) {
        return Character.isLetterOrDigit(cp);
    }

    /** Unicode White_Space, as Rust's {@code char::is_whitespace}. */
    static boolean isWhitespace(char c) {
        return Character.isSpaceChar(c) || (c >= '\t' && c <= '\r') || c == '\u0085';
    }
}
