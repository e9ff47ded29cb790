package dev.panomni.modalities.text;

import java.text.Normalizer;
import java.util.List;

/**
 * The Unicode normalizers a tokenizer.json can name (NFC, NFD, NFKC, NFKD, or a sequence of them),
 * applied with an alignment back to the input so token offsets stay in input coordinates.
 *
 * <p>Alignment: text that is already normalized (nearly all text) maps one to one. Otherwise the
 * text is cut before every character below U+0300: such characters never combine with what
 * precedes them, so normalizing the chunks separately gives the same string as normalizing the
 * whole, and every character of a changed chunk maps to that chunk's whole input range.
 */
final class Normalization {
    /**
     * Normalized text and, per normalized character, the input range it came from.
     *
     * @param text  the normalized text
     * @param start input index where normalized character {@code i} starts
     * @param end   input index where normalized character {@code i} ends
     */
    record Aligned(String text, int[] start, int[] end) {
    }

    private final List<Normalizer.Form> forms;

    Normalization(List<Normalizer.Form> forms) {
        this.forms = List.copyOf(forms);
    }

    /** No normalization. */
    static Normalization none() {
        return new Normalization(List.of());
    }

    /** The form a tokenizer.json normalizer type names ("NFC", ...), or null when it is not one. */
    static Normalizer.Form form(String type) {
        return switch (type) {
            case "NFC" -> Normalizer.Form.NFC;
            case "NFD" -> Normalizer.Form.NFD;
            case "NFKC" -> Normalizer.Form.NFKC;
            case "NFKD" -> Normalizer.Form.NFKD;
            default -> null;
        };
    }

    boolean isIdentity() {
        return forms.isEmpty();
    }

    String normalize(String s) {
        for (Normalizer.Form f : forms) {
            s = Normalizer.normalize(s, f);
        }
        return s;
    }

    private boolean unchanged(String s) {
        for (Normalizer.Form f : forms) {
            if (!Normalizer.isNormalized(s, f)) {
                return false;
            }
        }
        return true;
    }

    Aligned apply(String s) {
        if (unchanged(s)) {
            int[] start = new int[s.length()];
            int[] end = new int[s.length()];
            for (int i = 0; i < s.length(); i++) {
                start[i] = i;
                end[i] = i + 1;
            }
            return new Aligned(s, start, end);
        }
        StringBuilder out = new StringBuilder(s.length());
        int[] start = new int[s.length() * 4 + 4];
        int[] end = new int[start.length];
        int chunkStart = 0;
        for (int i = 1; i <= s.length(); i++) {
            if (i == s.length() || s.charAt(i) < 0x300) {
                String chunk = s.substring(chunkStart, i);
                String norm = normalize(chunk);
                if (out.length() + norm.length() > start.length) {
                    start = java.util.Arrays.copyOf(start, (out.length() + norm.length()) * 2);
                    end = java.util.Arrays.copyOf(end, start.length);
                }
                // As Hugging Face's NormalizedString aligns: normalized character k keeps the
                // alignment of input character k of its chunk (a composed character that of its base
                // character, dropped combining marks none); characters an expansion inserts past the
                // chunk's length take its last input character.
                for (int k = 0; k < norm.length(); k++) {
                    int at = out.length() + k;
                    int src = chunkStart + Math.min(k, chunk.length() - 1);
                    start[at] = src;
                    end[at] = src + 1;
                }
                out.append(norm);
                chunkStart = i;
            }
        }
        return new Aligned(out.toString(), java.util.Arrays.copyOf(start, out.length()),
                java.util.Arrays.copyOf(end, out.length()));
    }
}
