package dev.panomni.trainer.config;

/** What each JSONL line holds: {@code {"text": ...}} or {@code {"messages": [{"role", "content"}, ...]}}. */
public enum DataFormat {
    TEXT,
    CHAT
}
