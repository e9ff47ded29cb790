package dev.panomni.trainer.config;

/**
 * One JSONL input of {@code data.files}.
 *
 * @param path   the file; a relative path is resolved against the folder of the config file (the
 *               working directory when there is no config file)
 * @param weight relative share of documents drawn from this file (> 0); shares are normalized
 */
public record DataFile(String path, double weight) {
}
