package dev.panomni.kernels;

import dev.panomni.bindings.NativeLibrary;
import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Layout;
import dev.panomni.tensor.random.Generator;
import org.junit.jupiter.api.Assumptions;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Shared helpers for GPU tests (classes tagged {@code @Tag("gpu")}): skipping with a visible notice
 * where there is no GPU, fresh random inputs, poisoned outputs, and the relative-error check of
 * CUDA results against the CPU backend. Other kernel families' GPU tests use this too.
 *
 * <p>Tolerances (the issue's): {@code ||out - ref|| / ||ref||} below 1e-5 for F32 and 1e-2 for
 * BF16 and F16; NaN anywhere fails.
 */
public final class CudaTestSupport {
    /** The device GPU tests run on. */
    public static final Device CUDA = Device.cuda(0);

    private CudaTestSupport() {
    }

    /** Skips the calling test, printing why, unless a CUDA driver and GPU are usable. */
    public static void assumeGpu() {
        if (!CudaRuntime.isAvailable()) {
            skip("no usable GPU: " + CudaRuntime.unavailableReason());
        }
    }

    /** {@link #assumeGpu()} plus cuBLASLt installed. */
    public static void assumeCublasLt() {
        assumeGpu();
        if (!NativeLibrary.CUBLASLT.isAvailable()) {
            skip("no cuBLASLt: " + String.join(" or ", NativeLibrary.CUBLASLT.fileNames()) + " not found");
        }
    }

    private static void skip(String reason) {
        System.err.println("SKIPPED GPU test: " + reason);
        Assumptions.abort(reason);
    }

    /** The relative-error bound for results of {@code dtype}. */
    public static double tolerance(DType dtype) {
        return dtype == DType.F32 ? 1e-5 : 1e-2;
    }

    /**
     * Fresh uniform values in [lo, hi) on the host as {@code dtype} (rounded to it), from
     * {@code seed}. Integer dtypes get integers in [lo, hi).
     */
    public static Tensor random(DType dtype, long seed, double lo, double hi, long... shape) {
        if (dtype.isFloating()) {
            Tensor f = new Generator(seed).uniform(shape, lo, hi);
            return dtype == DType.F32 ? f : GradMode.noGrad(() -> Layout.cast(f, dtype));
        }
        SplittableRandom r = new SplittableRandom(seed);
        long n = Shapes.numel(shape);
        long[] v = new long[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = dtype == DType.BOOL ? r.nextInt(2) : (long) Math.floor(lo + (hi - lo) * r.nextDouble());
        }
        Tensor l = Tensor.ofLongs(v, shape);
        return dtype == DType.I64 ? l : GradMode.noGrad(() -> Layout.cast(l, dtype));
    }

    /** Standard normal values (F32 on the host, then {@code dtype}). */
    public static Tensor normal(DType dtype, long seed, long... shape) {
        Tensor f = new Generator(seed).normal(shape, 0, 1);
        return dtype == DType.F32 ? f : GradMode.noGrad(() -> Layout.cast(f, dtype));
    }

    /** {@code t} copied to the GPU. */
    public static Tensor toGpu(Tensor t) {
        return GradMode.noGrad(() -> Layout.toDevice(t, CUDA));
    }

    /** {@code t} copied to the host. */
    public static Tensor toCpu(Tensor t) {
        return GradMode.noGrad(() -> Layout.toDevice(t, Device.CPU));
    }

    /**
     * An output tensor whose every element is poison: NaN for floats, a sentinel for integers, so
     * that an element a kernel forgets to write fails the comparison.
     */
    public static Tensor poisoned(DType dtype, Device device, long... shape) {
        Tensor t = Tensor.empty(dtype, device, shape);
        Layout.fill(t, poison(dtype));
        return t;
    }

    /** The poison value {@link #poisoned} uses. */
    public static double poison(DType dtype) {
        return switch (dtype) {
            case F32, F16, BF16 -> Double.NaN;
            case I32, I64 -> -1_234_567;
            case U8 -> 251;
            case BOOL -> 1;
        };
    }

    /**
     * {@code ||out - ref|| / ||ref||} over all elements in double (NaN or a shape mismatch gives +inf).
     * An element that is infinite with the same sign on both sides matches exactly and is left out of
     * both norms; an infinity on one side only gives +inf.
     */
    public static double relativeError(Tensor out, Tensor ref) {
        if (!java.util.Arrays.equals(out.shape(), ref.shape())) {
            return Double.POSITIVE_INFINITY;
        }
        float[] o = out.toFloatArray();
        float[] r = ref.toFloatArray();
        double num = 0;
        double den = 0;
        for (int i = 0; i < o.length; i++) {
            if (Float.isNaN(o[i]) || Float.isNaN(r[i])) {
                return Double.POSITIVE_INFINITY;
            }
            if (Float.isInfinite(o[i]) || Float.isInfinite(r[i])) {
                if (o[i] == r[i]) {
                    continue;
                }
                return Double.POSITIVE_INFINITY;
            }
            double d = (double) o[i] - r[i];
            num += d * d;
            den += (double) r[i] * r[i];
        }
        if (den == 0) {
            return num == 0 ? 0 : Double.POSITIVE_INFINITY;
        }
        return Math.sqrt(num / den);
    }

    /** Fails unless {@code out} (any device) is within {@link #tolerance} of {@code ref} for {@code dtype}. */
    public static void assertClose(Tensor out, Tensor ref, DType dtype, String what) {
        assertClose(out, ref, tolerance(dtype), what);
    }

    /** Fails unless the relative error of {@code out} against {@code ref} is at most {@code tol}. */
    public static void assertClose(Tensor out, Tensor ref, double tol, String what) {
        double err = relativeError(out, ref);
        if (!(err <= tol)) {
            fail(what + ": relative error " + err + " exceeds " + tol + firstDifferences(out, ref));
        }
    }

    /** Fails unless integer or bool tensors hold exactly the same values. */
    public static void assertSameLongs(Tensor out, Tensor ref, String what) {
        assertArrayEquals(ref.shape(), out.shape(), what + ": shape");
        assertArrayEquals(ref.toLongArray(), out.toLongArray(), what);
    }

    private static String firstDifferences(Tensor out, Tensor ref) {
        if (!java.util.Arrays.equals(out.shape(), ref.shape())) {
            return " (shapes " + Shapes.str(out.shape()) + " vs " + Shapes.str(ref.shape()) + ")";
        }
        float[] o = out.toFloatArray();
        float[] r = ref.toFloatArray();
        StringBuilder sb = new StringBuilder("; first differences (index: got vs expected):");
        int shown = 0;
        for (int i = 0; i < o.length && shown < 8; i++) {
            if (!(Math.abs(o[i] - r[i]) <= 1e-6 * Math.max(1, Math.abs(r[i])))) {
                sb.append(' ').append(i).append(": ").append(o[i]).append(" vs ").append(r[i]).append(';');
                shown++;
            }
        }
        return sb.toString();
    }

    /** Reads a host tensor's bytes (tests of raw copies). */
    public static byte[] bytes(Tensor hostContiguous) {
        assertTrue(hostContiguous.isContiguous() && hostContiguous.device().equals(Device.CPU));
        MemorySegment seg = hostContiguous.data();
        return seg.asSlice(0, hostContiguous.numel() * hostContiguous.dtype().byteSize()).toArray(ValueLayout.JAVA_BYTE);
    }
}
