package dev.panomni.trainer.config;

/** Floating-point formats for parameters ({@code model.dtype}) and compute ({@code train.precision}). */
public enum Precision {
    FP32,
    BF16
}
