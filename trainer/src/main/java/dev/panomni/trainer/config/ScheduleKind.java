package dev.panomni.trainer.config;

/** Learning-rate decay after the linear warmup. */
public enum ScheduleKind {
    CONSTANT,
    COSINE,
    LINEAR
}
