package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;

/** Typed launchers for the kernels of {@code kernels/cuda/layout.cu}. */
public final class LayoutLaunchers {
    private static final int THREADS = 256;
    private static final KernelLauncher FILL_STRIDED = new KernelLauncher("layout", "fill_strided");
    private static final KernelLauncher COPY_STRIDED = new KernelLauncher("layout", "copy_strided");
    private static final KernelLauncher CAST_F32_TO_BF16 = new KernelLauncher("layout", "cast_f32_to_bf16");
    private static final KernelLauncher CAST_BF16_TO_F32 = new KernelLauncher("layout", "cast_bf16_to_f32");

    private LayoutLaunchers() {
    }

    /** Every element of {@code dst} (any strides, any dtype) set to {@code value}, rounded to the dtype. */
    public static void fillStrided(CudaStream s, Tensor dst, double value) {
        long n = dst.numel();
        if (n == 0) {
            return;
        }
        StridedOperands it = StridedOperands.of(dst.shape(), dst.strides());
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(dst).i32(dst.dtype().ordinal()).strided(it, 0).i64(n).f64(value);
            FILL_STRIDED.launch(s, LaunchConfig.gridStride(s.device(), n, THREADS), a, "LayoutKernels.fill");
        }
    }

    /**
     * {@code dst = src} element by element: same shape, any strides (zero for broadcast dims), any
     * dtypes (converted as the CPU converts: floats to integers truncate toward zero).
     */
    public static void copyStrided(CudaStream s, Tensor src, Tensor dst) {
        long n = dst.numel();
        if (n == 0) {
            return;
        }
        StridedOperands it = StridedOperands.of(dst.shape(), src.strides(), dst.strides());
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(src).i32(src.dtype().ordinal()).strided(it, 0)
                    .ptr(dst).i32(dst.dtype().ordinal()).strided(it, 1).i64(n);
            COPY_STRIDED.launch(s, LaunchConfig.gridStride(s.device(), n, THREADS), a, "LayoutKernels.copy");
        }
    }

    /**
     * Whether {@link #castF32ToBf16} or {@link #castBf16ToF32} can run on these tensors: both
     * contiguous, the F32 side 16-byte aligned and the BF16 side 4-byte aligned (their vector loads).
     */
    public static boolean canCastContiguous(Tensor src, Tensor dst) {
        if (!src.isContiguous() || !dst.isContiguous()) {
            return false;
        }
        Tensor f32 = src.dtype() == DType.F32 ? src : dst;
        Tensor bf16 = src.dtype() == DType.BF16 ? src : dst;
        if (f32.dtype() != DType.F32 || bf16.dtype() != DType.BF16) {
            return false;
        }
        return CudaTensors.address(f32) % 16 == 0 && CudaTensors.address(bf16) % 4 == 0;
    }

    /** Contiguous F32 to BF16, round to nearest even; see {@link #canCastContiguous}. */
    public static void castF32ToBf16(CudaStream s, Tensor src, Tensor dst) {
        checkCast(src, DType.F32, dst, DType.BF16);
        long n = dst.numel();
        if (n == 0) {
            return;
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(src).ptr(dst).i64(n);
            CAST_F32_TO_BF16.launch(s, LaunchConfig.gridStride(s.device(), Math.max(1, n / 4), THREADS), a,
                    "LayoutKernels.copy F32->BF16");
        }
    }

    /** Contiguous BF16 to F32 (exact); see {@link #canCastContiguous}. */
    public static void castBf16ToF32(CudaStream s, Tensor src, Tensor dst) {
        checkCast(src, DType.BF16, dst, DType.F32);
        long n = dst.numel();
        if (n == 0) {
            return;
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(src).ptr(dst).i64(n);
            CAST_BF16_TO_F32.launch(s, LaunchConfig.gridStride(s.device(), Math.max(1, n / 4), THREADS), a,
                    "LayoutKernels.copy BF16->F32");
        }
    }

    private static void checkCast(Tensor src, DType from, Tensor dst, DType to) {
        if (src.dtype() != from || dst.dtype() != to || src.numel() != dst.numel() || !canCastContiguous(src, dst)) {
            throw new IllegalArgumentException("cast " + from + "->" + to + " needs contiguous, aligned tensors of "
                    + "equal size, got " + src.describe() + " -> " + dst.describe() + " (shape "
                    + Shapes.str(dst.shape()) + ")");
        }
    }
}
