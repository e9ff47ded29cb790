package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.ArithKernels.BinaryOp;

import java.util.Arrays;

/** Typed launchers for the kernels of {@code kernels/cuda/arith.cu}. */
public final class ArithLaunchers {
    private static final int THREADS = 256;
    private static final KernelLauncher BINARY_STRIDED = new KernelLauncher("arith", "binary_strided");
    private static final KernelLauncher BINARY_F32_CONTIG = new KernelLauncher("arith", "binary_f32_contig");
    private static final KernelLauncher AFFINE = new KernelLauncher("arith", "affine");
    private static final KernelLauncher SUM_TO = new KernelLauncher("arith", "sum_to");
    private static final KernelLauncher SUM_TO_BLOCKS = new KernelLauncher("arith", "sum_to_blocks");

    private ArithLaunchers() {
    }

    /** The {@code OP_*} code of arith.cu. */
    private static int code(BinaryOp op) {
        return switch (op) {
            case ADD -> 0;
            case SUB -> 1;
            case MUL -> 2;
            case DIV -> 3;
        };
    }

    /**
     * {@code out = a op b}: {@code a} and {@code b} of out's shape and dtype with any strides (0 on
     * broadcast dims), {@code out} contiguous. Integer division floors, and gives 0 for a zero
     * divisor (the CPU throws).
     */
    public static void binaryStrided(CudaStream s, BinaryOp op, Tensor a, Tensor b, Tensor out) {
        long n = out.numel();
        if (n == 0) {
            return;
        }
        StridedOperands it = StridedOperands.of(out.shape(), a.strides(), b.strides());
        try (KernelArgs k = KernelArgs.open()) {
            k.i32(code(op)).i32(out.dtype().ordinal()).ptr(a).strided(it, 0).ptr(b).strided(it, 1).ptr(out).i64(n);
            BINARY_STRIDED.launch(s, LaunchConfig.gridStride(s.device(), n, THREADS), k, "ArithKernels.binary " + op);
        }
    }

    /** Whether {@link #binaryF32Contiguous} can run: F32, all contiguous, all 16-byte aligned. */
    public static boolean canRunF32Contiguous(Tensor a, Tensor b, Tensor out) {
        return out.dtype() == DType.F32 && a.isContiguous() && b.isContiguous() && out.isContiguous()
                && CudaTensors.address(a) % 16 == 0 && CudaTensors.address(b) % 16 == 0
                && CudaTensors.address(out) % 16 == 0;
    }

    /** {@code out = a op b} for contiguous, 16-byte aligned F32 tensors of one shape (16-byte accesses). */
    public static void binaryF32Contiguous(CudaStream s, BinaryOp op, Tensor a, Tensor b, Tensor out) {
        if (!canRunF32Contiguous(a, b, out) || a.numel() != out.numel() || b.numel() != out.numel()) {
            throw new IllegalArgumentException("binary_f32_contig needs contiguous aligned F32 tensors of one size, got "
                    + a.describe() + ", " + b.describe() + ", " + out.describe());
        }
        long n = out.numel();
        if (n == 0) {
            return;
        }
        try (KernelArgs k = KernelArgs.open()) {
            k.i32(code(op)).ptr(a).ptr(b).ptr(out).i64(n);
            BINARY_F32_CONTIG.launch(s, LaunchConfig.gridStride(s.device(), Math.max(1, n / 4), THREADS), k,
                    "ArithKernels.binary " + op);
        }
    }

    /** {@code out = a * scale + shift}; contiguous, same shape and dtype. */
    public static void affine(CudaStream s, Tensor a, double scale, double shift, Tensor out) {
        long n = out.numel();
        if (n == 0) {
            return;
        }
        try (KernelArgs k = KernelArgs.open()) {
            k.i32(out.dtype().ordinal()).ptr(a).ptr(out).i64(n).f64(scale).f64(shift);
            AFFINE.launch(s, LaunchConfig.gridStride(s.device(), n, THREADS), k, "ArithKernels.affine");
        }
    }

    /**
     * Sums contiguous {@code src} into contiguous {@code dst}, whose shape left-padded with ones to
     * src's rank has each dim equal to src's or 1 (the reduction that undoes a broadcast).
     * Deterministic: each destination element is summed in a fixed order, in double.
     */
    public static void sumTo(CudaStream s, Tensor src, Tensor dst) {
        long n = dst.numel();
        if (n == 0) {
            return;
        }
        long[] ss = src.shape();
        int r = ss.length;
        long[] ds = dst.shape();
        if (ds.length > r) {
            throw new IllegalArgumentException("sumTo: destination " + Shapes.str(ds) + " has more dims than source "
                    + Shapes.str(ss));
        }
        long[] padded = new long[r];
        Arrays.fill(padded, 1);
        System.arraycopy(ds, 0, padded, r - ds.length, ds.length);
        long[] cs = Shapes.contiguousStrides(ss);
        long[] keepShape = new long[r];
        long[] keepStrides = new long[r];
        long[] redShape = new long[r];
        long[] redStrides = new long[r];
        int nk = 0;
        int nr = 0;
        long reduced = 1;
        for (int d = 0; d < r; d++) {
            if (padded[d] == ss[d]) {
                keepShape[nk] = ss[d];
                keepStrides[nk++] = cs[d];
            } else if (padded[d] == 1) {
                redShape[nr] = ss[d];
                redStrides[nr++] = cs[d];
                reduced *= ss[d];
            } else {
                throw new IllegalArgumentException("sumTo: " + Shapes.str(ds) + " is not a broadcast source of "
                        + Shapes.str(ss));
            }
        }
        StridedOperands keep = StridedOperands.of(Arrays.copyOf(keepShape, nk), Arrays.copyOf(keepStrides, nk));
        StridedOperands red = StridedOperands.of(Arrays.copyOf(redShape, nr), Arrays.copyOf(redStrides, nr));
        int sms = s.device().multiprocessorCount();
        boolean perBlock = n <= 8L * sms && reduced >= 1024;
        try (KernelArgs k = KernelArgs.open()) {
            k.i32(src.dtype().ordinal()).ptr(src).strided(keep, 0).strided(red, 0).i64(reduced).ptr(dst).i64(n);
            if (perBlock) {
                SUM_TO_BLOCKS.launch(s, LaunchConfig.linear(n, 256), k, "ArithKernels.sumTo");
            } else {
                SUM_TO.launch(s, LaunchConfig.gridStride(s.device(), n, THREADS), k, "ArithKernels.sumTo");
            }
        }
    }
}
