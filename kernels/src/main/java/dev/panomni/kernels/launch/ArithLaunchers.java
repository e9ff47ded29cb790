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
    private static final FloatKernel BINARY_CONTIG = new FloatKernel("arith", "binary_contig");
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

    /**
     * {@code out = a op b} on the contiguous fast path, when it applies: float {@code out} and
     * {@code a} contiguous of out's shape, and {@code b} either the same or one value per row of the
     * last dim (a view broadcast along it, e.g. [T, 1] expanded to [T, H], whose other dims are
     * contiguous). Returns false, launching nothing, otherwise.
     */
    public static boolean binaryContiguous(CudaStream s, BinaryOp op, Tensor a, Tensor b, Tensor out) {
        DType dt = out.dtype();
        if (!dt.isFloating() || a.dtype() != dt || b.dtype() != dt || !out.isContiguous() || !a.isContiguous()
                || !Arrays.equals(a.shape(), out.shape())) {
            return false;
        }
        long n = out.numel();
        long bCols;
        if (b.isContiguous() && Arrays.equals(b.shape(), out.shape())) {
            bCols = 0;
        } else if (out.rank() >= 1 && out.size(-1) > 0 && Arrays.equals(b.shape(), out.shape()) && perRow(b)) {
            bCols = out.size(-1);
        } else {
            return false;
        }
        if (n == 0) {
            return true;
        }
        try (KernelArgs k = KernelArgs.open()) {
            k.i32(code(op)).ptr(a).ptr(b).ptr(out).i64(n).i64(bCols);
            BINARY_CONTIG.of(dt).launch(s, LaunchConfig.gridStride(s.device(),
                    Math.max(1, n / FloatKernel.vectorWidth(dt)), THREADS), k, "ArithKernels.binary " + op);
        }
        return true;
    }

    /** Whether {@code b} is constant along its last dim and row-major contiguous over the others. */
    private static boolean perRow(Tensor b) {
        int r = b.rank();
        if (b.stride(r - 1) != 0 && b.size(r - 1) != 1) {
            return false;
        }
        long expected = 1;
        for (int d = r - 2; d >= 0; d--) {
            if (b.size(d) != 1 && b.stride(d) != expected) {
                return false;
            }
            expected *= b.size(d);
        }
        return true;
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
