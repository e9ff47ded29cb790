package dev.panomni.trainer.config;

/** Sequence-parallel attention: all-to-all over heads (Ulysses) or a ring of key/value blocks. */
public enum SpMode {
    ULYSSES,
    RING
}
