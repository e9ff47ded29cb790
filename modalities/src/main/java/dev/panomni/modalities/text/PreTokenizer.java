package dev.panomni.modalities.text;

import java.util.List;

/** One pre-tokenization step of a Hugging Face tokenizer: splits a piece into smaller pieces. */
interface PreTokenizer {
    /** Appends the pieces {@code piece} splits into to {@code out}; empty pieces are dropped. */
    void split(Piece piece, List<Piece> out);
}
