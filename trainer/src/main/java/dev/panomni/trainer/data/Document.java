package dev.panomni.trainer.data;

/**
 * A tokenized document.
 *
 * @param ref        where its line is
 * @param ids        token ids [tokens]
 * @param targetMask [tokens]: true where the token is a training target (every token of plain
 *                   text; only assistant tokens of a conversation)
 */
record Document(DocRef ref, int[] ids, boolean[] targetMask) {
    /** True when some token after the first is a target, i.e. the document contributes to the loss. */
    boolean hasTargets() {
        for (int j = 1; j < ids.length; j++) {
            if (targetMask[j]) {
                return true;
            }
        }
        return false;
    }
}
