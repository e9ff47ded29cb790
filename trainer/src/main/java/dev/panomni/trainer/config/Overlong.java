package dev.panomni.trainer.config;

/** What a document longer than {@code data.seq_len} tokens becomes. */
public enum Overlong {
    /** Only its first {@code seq_len} tokens are used. */
    TRUNCATE,
    /** It is cut into consecutive pieces of at most {@code seq_len} tokens, each its own sequence. */
    SPLIT
}
