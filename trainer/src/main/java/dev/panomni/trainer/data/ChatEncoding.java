package dev.panomni.trainer.data;

/**
 * A conversation after the chat template: token ids and, per token, whether the model is trained
 * to produce it (true only on assistant replies and the token that closes them).
 *
 * @param ids      token ids [tokens]
 * @param lossMask [tokens], true where the token is a training target
 */
public record ChatEncoding(int[] ids, boolean[] lossMask) {
    public ChatEncoding {
        if (ids.length != lossMask.length) {
            throw new IllegalArgumentException("ids has " + ids.length + " tokens but lossMask " + lossMask.length);
        }
    }
}
