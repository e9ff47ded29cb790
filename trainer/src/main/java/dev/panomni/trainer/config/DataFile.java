package dev.panomni.trainer.config;

/**
 * One JSONL input of {@code data.files}.
 *
 * @param path   the file (relative paths are resolved against the working directory)
 * @param weight relative share of documents drawn from this file (> 0); shares are normalized
 */
public record DataFile(String path, double weight) {
}
