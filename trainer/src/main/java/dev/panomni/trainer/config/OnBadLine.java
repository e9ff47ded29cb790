package dev.panomni.trainer.config;

/** What a malformed input line does: reported and skipped (and counted), or fatal. */
public enum OnBadLine {
    SKIP,
    FAIL
}
