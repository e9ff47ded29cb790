package dev.panomni.modalities.text;

/**
 * A stretch of normalized text between pre-tokenization steps, remembering where each of its
 * characters came from so that token offsets can be traced back to the input.
 *
 * @param text the piece
 * @param pos  {@code text.length() + 1} positions in the normalized text: {@code pos[i]} is where
 *             character {@code i} starts, {@code pos[text.length()]} where the piece ends; a
 *             character the pre-tokenizer inserted (a prefix space) gets the next one's position
 */
record Piece(String text, int[] pos) {
    /** A piece of the normalized text {@code [start, end)}. */
    static Piece of(String normalized, int start, int end) {
        int[] pos = new int[end - start + 1];
        for (int i = 0; i < pos.length; i++) {
            pos[i] = start + i;
        }
        return new Piece(normalized.substring(start, end), pos);
    }

    /** Characters {@code [start, end)} of this piece. */
    Piece slice(int start, int end) {
        int[] p = new int[end - start + 1];
        System.arraycopy(pos, start, p, 0, p.length);
        return new Piece(text.substring(start, end), p);
    }

    /** This piece and {@code other}, which must follow it. */
    Piece concat(Piece other) {
        int[] p = new int[text.length() + other.text.length() + 1];
        System.arraycopy(pos, 0, p, 0, text.length());
        System.arraycopy(other.pos, 0, p, text.length(), other.pos.length);
        return new Piece(text + other.text, p);
    }

    /** This piece with {@code prefix} inserted before it, mapped to the piece's start. */
    Piece prepend(String prefix) {
        int[] p = new int[text.length() + prefix.length() + 1];
        java.util.Arrays.fill(p, 0, prefix.length(), pos[0]);
        System.arraycopy(pos, 0, p, prefix.length(), pos.length);
        return new Piece(prefix + text, p);
    }
}
