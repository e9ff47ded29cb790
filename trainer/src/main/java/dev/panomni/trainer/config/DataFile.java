package dev.panomni.trainer.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One JSONL input of {@code data.files}.
 *
 * @param path   the file; a relative path is resolved against the folder of the config file (the
 *               working directory when there is no config file)
 * @param weight relative share of documents drawn from this file (> 0, 1 when left out); shares are
 *               normalized
 */
public record DataFile(String path, double weight) {
    /** The form configs bind through: {@code {path: a.jsonl}} alone means weight 1. */
    @JsonCreator
    static DataFile bind(@JsonProperty("path") String path, @JsonProperty("weight") Double weight) {
        return new DataFile(path, weight == null ? 1.0 : weight);
    }
}
