package dev.panomni.modalities.text;

/**
 * Token ids with the input characters each came from.
 *
 * @param ids    token ids
 * @param starts per token, the index of its first input char (UTF-16 units)
 * @param ends   per token, one past its last input char; tokens added by the post-processor (BOS)
 *               and a byte-level prefix space have {@code starts[i] == ends[i]}
 */
public record Encoding(int[] ids, int[] starts, int[] ends) {
    /** Number of tokens. */
    public int length() {
        return ids.length;
    }
}
