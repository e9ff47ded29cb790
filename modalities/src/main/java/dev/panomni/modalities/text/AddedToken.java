package dev.panomni.modalities.text;

/**
 * A token of a tokenizer's {@code added_tokens}: matched in the text before pre-tokenization (so
 * {@code <|im_start|>} is one id however the BPE would split it), longest match first.
 *
 * @param id         its id
 * @param content    the text it matches
 * @param special    special tokens are dropped by {@code decode(ids, skipSpecialTokens=true)}
 * @param lstrip     the match also swallows whitespace to its left
 * @param rstrip     the match also swallows whitespace to its right
 * @param singleWord matches only when not inside a word
 * @param normalized matched against the normalized text (false: against the raw text)
 */
public record AddedToken(int id, String content, boolean special, boolean lstrip, boolean rstrip,
                         boolean singleWord, boolean normalized) {
}
