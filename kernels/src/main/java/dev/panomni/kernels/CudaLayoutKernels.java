package dev.panomni.kernels;

import dev.panomni.kernels.launch.LayoutLaunchers;
import dev.panomni.kernels.runtime.CudaDevice;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.LayoutKernels;

/**
 * CUDA fill and copy. Fast paths: contiguous fills of 4- and 1-byte dtypes (and zero fills of any
 * dtype) are driver memsets; contiguous same-dtype copies are {@code cuMemcpyDtoDAsync}; contiguous
 * F32<->BF16 casts use the vectorized cast kernels; everything else runs the strided, converting
 * kernels of layout.cu.
 */
public final class CudaLayoutKernels implements LayoutKernels {
    CudaLayoutKernels() {
    }

    @Override
    public void fill(Tensor dst, double value) {
        long n = dst.numel();
        if (n == 0) {
            return;
        }
        CudaDevice d = CudaTensors.device(dst);
        CudaStream s = d.computeStream();
        if (dst.isContiguous()) {
            long at = CudaTensors.address(dst);
            DType dt = dst.dtype();
            switch (dt) {
                case F32 -> {
                    d.memsetWords(at, Float.floatToRawIntBits((float) value), n, s);
                    return;
                }
                case I32 -> {
                    d.memsetWords(at, (int) (long) value, n, s);
                    return;
                }
                case U8 -> {
                    d.memsetBytes(at, (byte) (long) value, n, s);
                    return;
                }
                case BOOL -> {
                    d.memsetBytes(at, (byte) ((long) value != 0 ? 1 : 0), n, s);
                    return;
                }
                default -> {
                    if (Double.doubleToRawLongBits(value) == 0L) { // +0.0: all-zero bytes in every dtype
                        d.memsetBytes(at, (byte) 0, n * dt.byteSize(), s);
                        return;
                    }
                }
            }
        }
        LayoutLaunchers.fillStrided(s, dst, value);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        long n = dst.numel();
        if (n == 0) {
            return;
        }
        CudaDevice d = CudaTensors.device(dst);
        CudaStream s = d.computeStream();
        if (src.dtype() == dst.dtype() && src.isContiguous() && dst.isContiguous()) {
            d.copyDeviceToDevice(CudaTensors.address(dst), CudaTensors.address(src), n * dst.dtype().byteSize(), s);
            return;
        }
        if (LayoutLaunchers.canCastContiguous(src, dst)) {
            if (src.dtype() == DType.F32) {
                LayoutLaunchers.castF32ToBf16(s, src, dst);
            } else {
                LayoutLaunchers.castBf16ToF32(s, src, dst);
            }
            return;
        }
        LayoutLaunchers.copyStrided(s, src, dst);
    }
}
