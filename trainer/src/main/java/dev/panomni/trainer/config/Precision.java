package dev.panomni.trainer.config;

/**
 * Floating-point formats: {@code model.dtype} (how parameters are stored: {@code bf16} stores them in
 * BF16 with FP32 master copies in the optimizer, like {@code train.precision: bf16}) and the
 * resolved compute format of {@link ComputePrecision}.
 */
public enum Precision {
    FP32,
    BF16
}
