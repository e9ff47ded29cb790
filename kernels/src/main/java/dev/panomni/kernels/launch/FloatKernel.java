package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;

/**
 * One kernel template of a .cu file instantiated for the three float storage types: the entry
 * points {@code NAME_f32}, {@code NAME_bf16} and {@code NAME_f16} (the PANOMNI_FOR_FLOAT_TYPES
 * macro of vec.cuh), picked by dtype at launch.
 */
final class FloatKernel {
    private final KernelLauncher f32;
    private final KernelLauncher bf16;
    private final KernelLauncher f16;

    FloatKernel(String module, String name) {
        f32 = new KernelLauncher(module, name + "_f32");
        bf16 = new KernelLauncher(module, name + "_bf16");
        f16 = new KernelLauncher(module, name + "_f16");
    }

    /** The instantiation for {@code dtype} (F32, BF16 or F16). */
    KernelLauncher of(DType dtype) {
        return switch (dtype) {
            case F32 -> f32;
            case BF16 -> bf16;
            case F16 -> f16;
            default -> throw new IllegalArgumentException(f32.kernel().replace("_f32", "")
                    + " is a float kernel; got " + dtype);
        };
    }

    /** Elements of {@code dtype} in one 16-byte vector (Vec<T>::N of vec.cuh). */
    static int vectorWidth(DType dtype) {
        return 16 / dtype.byteSize();
    }

    /** Whether every non-null tensor starts at a 16-byte aligned device address. */
    static boolean aligned16(Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && CudaTensors.address(t) % 16 != 0) {
                return false;
            }
        }
        return true;
    }

    /** The smallest power of two at least {@code v} (1 for v <= 1). */
    static int pow2AtLeast(long v) {
        int p = 1;
        while (p < v) {
            p <<= 1;
        }
        return p;
    }
}
