package dev.panomni.trainer.metrics;

import dev.panomni.trainer.config.Precision;

import java.util.Locale;
import java.util.OptionalDouble;

/**
 * Vendor-stated dense peak FLOP/s of accelerators (no sparsity), for MFU. Unknown devices (and the
 * CPU) have no peak, and the progress line then omits MFU rather than guess.
 */
public final class DevicePeaks {
    private record Peak(String nameFragment, double bf16, double fp32) {
    }

    // Order matters: more specific names first. fp32 means TF32 tensor-core matmuls where the
    // CUDA backend uses them, as PyTorch does with allow_tf32.
    private static final Peak[] PEAKS = {
        new Peak("h100 pcie", 756e12, 378e12),
        new Peak("h100", 989e12, 494e12),
        new Peak("h200", 989e12, 494e12),
        new Peak("gh200", 989e12, 494e12),
        new Peak("b200", 2250e12, 1100e12),
        new Peak("a100", 312e12, 156e12),
        new Peak("l40s", 362e12, 183e12),
        new Peak("a10g", 70e12, 35e12),
        new Peak("rtx 4090", 165e12, 83e12),
    };

    private DevicePeaks() {
    }

    /** Peak FLOP/s of one device named {@code deviceName} (as the driver reports it) at {@code precision}. */
    public static OptionalDouble peakFlops(String deviceName, Precision precision) {
        if (deviceName == null) {
            return OptionalDouble.empty();
        }
        String n = deviceName.toLowerCase(Locale.ROOT);
        for (Peak p : PEAKS) {
            if (n.contains(p.nameFragment())) {
                return OptionalDouble.of(precision == Precision.BF16 ? p.bf16() : p.fp32());
            }
        }
        return OptionalDouble.empty();
    }
}
