package dev.panomni.trainer.config;

import dev.panomni.tensor.Device;

/**
 * {@code train.precision}: the format of the forward and backward computation.
 * <ul>
 *   <li>{@code auto}: BF16 on CUDA, FP32 on the CPU (whose kernels compute in FP32 anyway, so BF16
 *       would only add rounding and conversions);</li>
 *   <li>{@code fp32}: everything in FP32;</li>
 *   <li>{@code bf16}: parameters are held in BF16 for the forward and backward, and the optimizer
 *       keeps an FP32 master copy of each (the authoritative weights, saved in the optimizer
 *       state), so small updates are not rounded away.</li>
 * </ul>
 */
public enum ComputePrecision {
    AUTO,
    FP32,
    BF16;

    /** The format used on {@code device}. */
    public Precision resolve(Device device) {
        return switch (this) {
            case FP32 -> Precision.FP32;
            case BF16 -> Precision.BF16;
            case AUTO -> device.type() == Device.Type.CUDA ? Precision.BF16 : Precision.FP32;
        };
    }
}
