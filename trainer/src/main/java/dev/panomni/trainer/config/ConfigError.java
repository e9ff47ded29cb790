package dev.panomni.trainer.config;

/**
 * One problem with a configuration.
 *
 * @param key     the dotted key ({@code train.micro_batch_size}, {@code data.files[1].weight})
 * @param value   the offending value as written, or null when the key's presence is the problem
 * @param problem what is allowed (and, for unknown keys, a did-you-mean)
 */
public record ConfigError(String key, String value, String problem) {
    @Override
    public String toString() {
        return value == null ? key + ": " + problem : key + " = " + value + ": " + problem;
    }
}
