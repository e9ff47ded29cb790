package dev.panomni.modalities.text;

import java.util.List;

/**
 * The {@code ByteLevel} pre-tokenizer: optionally prefixes a space and splits with GPT-2's regex.
 * The byte-to-character mapping itself happens when words are handed to the BPE model (its
 * presence makes the whole tokenizer byte-level, see {@link ByteLevel}).
 */
final class ByteLevelPreTokenizer implements PreTokenizer {
    /** GPT-2's pre-tokenization regex, used when {@code use_regex} is true. */
    static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    private final boolean addPrefixSpace;
    private final SplitPreTokenizer regex;

    ByteLevelPreTokenizer(boolean addPrefixSpace, boolean useRegex) {
        this.addPrefixSpace = addPrefixSpace;
        this.regex = useRegex ? new SplitPreTokenizer(SplitPreTokenizer.compileRegex(GPT2_PATTERN),
                SplitPreTokenizer.Behavior.ISOLATED, false) : null;
    }

    @Override
    public void split(Piece piece, List<Piece> out) {
        Piece p = addPrefixSpace && !piece.text().startsWith(" ") ? piece.prepend(" ") : piece;
        if (regex != null) {
            regex.split(p, out);
        } else if (!p.text().isEmpty()) {
            out.add(p);
        }
    }
}
