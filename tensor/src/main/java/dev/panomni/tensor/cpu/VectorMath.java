package dev.panomni.tensor.cpu;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Vector building blocks shared by the CPU math kernels: the error function and the Gaussian CDF
 * (the Vector API has neither), and row reductions (max, sums accumulated in float64) over F32
 * runs in memory.
 *
 * <p>Every loop here reads the tail of a run with a masked vector, so an element's result never
 * depends on where a run starts or ends: results are the same for any split over threads.
 */
final class VectorMath {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Double> D = VectorSpecies.of(double.class, F.vectorShape());
    static final ByteOrder LE = ByteOrder.nativeOrder();
    static final int L = F.length();

    /*
     * erf(x), two pieces, coefficients fitted for this class (weighted minimax by Lawson's algorithm
     * against mpmath, then rounded to float; measured max error 1.1 ulp, 8.3e-8 relative, over all
     * of [-6, 6] and tiny arguments):
     *   |x| <  0.921875:  erf(x) = x + x * P(x^2),  P of degree 5;
     *   |x| >= 0.921875:  erf(x) = 1 - exp(-Q(|x|)), Q of degree 8 fitted to -log(erfc(|x|)) on [0.921875, 4];
     *                     beyond 4, erf rounds to 1 in float, and |x| is clamped to 4.
     * The second piece gives erfc(|x|) = exp(-Q) directly, without the cancellation of 1 - erf, so
     * the Gaussian CDF keeps its relative accuracy in the left tail: measured 7e-8 for x >= 0, 1e-6
     * on [-3, 0) (mostly the float rounding of x / sqrt 2) and 2.4e-6 down to -4 sqrt 2.
     */
    static final float ERF_SPLIT = 0.921875f;
    static final float ERF_CLAMP = 4f;
    private static final float P0 = 0x1.06eba6p-3f;
    private static final float P1 = -0x1.8126eep-2f;
    private static final float P2 = 0x1.ce1b94p-4f;
    private static final float P3 = -0x1.b69a7ep-6f;
    private static final float P4 = 0x1.478c8ap-8f;
    private static final float P5 = -0x1.3b466ap-11f;
    private static final float Q0 = -0x1.34927p-12f;
    private static final float Q1 = 0x1.21504cp+0f;
    private static final float Q2 = 0x1.4394e4p-1f;
    private static final float Q3 = 0x1.c240eap-4f;
    private static final float Q4 = -0x1.af7b46p-6f;
    private static final float Q5 = 0x1.3600fcp-8f;
    private static final float Q6 = -0x1.35b47cp-11f;
    private static final float Q7 = 0x1.7c7648p-15f;
    private static final float Q8 = -0x1.ae2a5ep-20f;

    static final float SQRT1_2 = (float) (1 / Math.sqrt(2));
    /** 1 / sqrt(2 pi), the Gaussian density at 0. */
    static final float INV_SQRT_2PI = (float) (1 / Math.sqrt(2 * Math.PI));

    private VectorMath() {
    }

    /** {@code x + x * P(x^2)}: erf on |x| < {@link #ERF_SPLIT}. */
    private static FloatVector erfSmall(FloatVector x) {
        FloatVector s = x.mul(x);
        FloatVector p = FloatVector.broadcast(F, P5);
        p = p.fma(s, FloatVector.broadcast(F, P4));
        p = p.fma(s, FloatVector.broadcast(F, P3));
        p = p.fma(s, FloatVector.broadcast(F, P2));
        p = p.fma(s, FloatVector.broadcast(F, P1));
        p = p.fma(s, FloatVector.broadcast(F, P0));
        return p.fma(x, x);
    }

    /** {@code exp(-Q(min(a, 4)))} = erfc(a) for a in [{@link #ERF_SPLIT}, 4]; a is |x|. */
    private static FloatVector erfcLarge(FloatVector a) {
        FloatVector t = a.min(ERF_CLAMP);
        FloatVector q = FloatVector.broadcast(F, Q8);
        q = q.fma(t, FloatVector.broadcast(F, Q7));
        q = q.fma(t, FloatVector.broadcast(F, Q6));
        q = q.fma(t, FloatVector.broadcast(F, Q5));
        q = q.fma(t, FloatVector.broadcast(F, Q4));
        q = q.fma(t, FloatVector.broadcast(F, Q3));
        q = q.fma(t, FloatVector.broadcast(F, Q2));
        q = q.fma(t, FloatVector.broadcast(F, Q1));
        q = q.fma(t, FloatVector.broadcast(F, Q0));
        return q.neg().lanewise(VectorOperators.EXP);
    }

    /** erf(x) lanewise, to about 1 ulp (see the fit above); NaN stays NaN, erf(+-inf) = +-1. */
    static FloatVector erf(FloatVector x) {
        FloatVector a = x.abs();
        FloatVector small = erfSmall(x);
        FloatVector large = FloatVector.broadcast(F, 1f).sub(erfcLarge(a));
        large = large.blend(large.neg(), x.compare(VectorOperators.LT, 0f));
        return small.blend(large, a.compare(VectorOperators.GE, ERF_SPLIT));
    }

    /**
     * The standard normal CDF {@code Phi(x) = (1 + erf(x / sqrt 2)) / 2} lanewise, accurate in
     * relative terms in the left tail too (it is 0 below x = -4 sqrt 2, where it is under 8e-9).
     */
    static FloatVector gaussianCdf(FloatVector x) {
        FloatVector z = x.mul(SQRT1_2);
        FloatVector a = z.abs();
        FloatVector half = FloatVector.broadcast(F, 0.5f);
        FloatVector small = erfSmall(z).fma(half, half);
        FloatVector tail = erfcLarge(a).mul(half);
        FloatVector large = FloatVector.broadcast(F, 1f).sub(tail)
                .blend(tail, z.compare(VectorOperators.LT, 0f))
                .blend(0f, z.compare(VectorOperators.LT, -ERF_CLAMP));
        return small.blend(large, a.compare(VectorOperators.GE, ERF_SPLIT));
    }

    /** The standard normal density {@code exp(-x^2 / 2) / sqrt(2 pi)} lanewise. */
    static FloatVector gaussianPdf(FloatVector x) {
        return x.mul(x).mul(-0.5f).lanewise(VectorOperators.EXP).mul(INV_SQRT_2PI);
    }

    // ------------------------------------------------------------------ memory access

    /**
     * Guards the kernels' contract: the op front ends hand CPU math kernels contiguous F32 tensors
     * (they widen BF16 and F16); anything else is a bug in the caller, not bad user input.
     */
    static void requireContiguousF32(String kernel, Tensor... ts) {
        for (Tensor t : ts) {
            // (Tensor.isContiguous is false for some empty shapes, such as [3, 0]; nothing is read from those.)
            if (t != null && (t.dtype() != DType.F32 || !t.isContiguous() && t.numel() != 0)) {
                throw new IllegalStateException(kernel + ": CPU kernel needs contiguous F32 tensors, got "
                        + t.describe() + " with strides " + Arrays.toString(t.strides()));
            }
        }
    }

    /** Lanes of the run [k, end) starting at element k: all lanes, or a tail mask. */
    static VectorMask<Float> mask(long k, long end) {
        return k + L <= end ? F.maskAll(true) : F.indexInRange(k, end);
    }

    /** F32 elements at element offset {@code index}; lanes off the mask read as 0. */
    static FloatVector load(MemorySegment seg, long index, VectorMask<Float> m) {
        return FloatVector.fromMemorySegment(F, seg, index * 4, LE, m);
    }

    static void store(FloatVector v, MemorySegment seg, long index, VectorMask<Float> m) {
        v.intoMemorySegment(seg, index * 4, LE, m);
    }

    // ------------------------------------------------------------------ row reductions

    /** The largest of {@code n >= 1} F32 elements from element {@code off}; NaN if any is NaN. */
    static float max(MemorySegment seg, long off, long n) {
        FloatVector acc = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (long k = 0; k < n; k += L) {
            VectorMask<Float> m = mask(k, n);
            acc = acc.lanewise(VectorOperators.MAX, load(seg, off + k, m), m);
        }
        return acc.reduceLanes(VectorOperators.MAX);
    }

    /** Sum of {@code n} F32 elements, accumulated in float64 in a fixed order. */
    static double sum(MemorySegment seg, long off, long n) {
        DoubleVector a0 = DoubleVector.zero(D);
        DoubleVector a1 = DoubleVector.zero(D);
        for (long k = 0; k < n; k += L) {
            FloatVector v = load(seg, off + k, mask(k, n));
            a0 = a0.add(v.convertShape(VectorOperators.F2D, D, 0));
            a1 = a1.add(v.convertShape(VectorOperators.F2D, D, 1));
        }
        return sumInLaneOrder(a0.add(a1));
    }

    /** {@code sum_i exp(x_i - shift)} over {@code n} F32 elements, accumulated in float64. */
    static double sumExp(MemorySegment seg, long off, long n, float shift) {
        DoubleVector a0 = DoubleVector.zero(D);
        DoubleVector a1 = DoubleVector.zero(D);
        for (long k = 0; k < n; k += L) {
            VectorMask<Float> m = mask(k, n);
            FloatVector e = VectorExp.exp(load(seg, off + k, m).sub(shift)).blend(0f, m.not());
            a0 = a0.add(e.convertShape(VectorOperators.F2D, D, 0));
            a1 = a1.add(e.convertShape(VectorOperators.F2D, D, 1));
        }
        return sumInLaneOrder(a0.add(a1));
    }

    /**
     * Writes {@code exp(x_i - shift)} for {@code n} F32 elements from {@code src} to {@code dst}
     * (which may be the same memory) and returns their sum, accumulated in float64.
     */
    static double expShiftInto(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, long n, float shift) {
        DoubleVector a0 = DoubleVector.zero(D);
        DoubleVector a1 = DoubleVector.zero(D);
        for (long k = 0; k < n; k += L) {
            VectorMask<Float> m = mask(k, n);
            FloatVector e = VectorExp.exp(load(src, srcOff + k, m).sub(shift)).blend(0f, m.not());
            store(e, dst, dstOff + k, m);
            a0 = a0.add(e.convertShape(VectorOperators.F2D, D, 0));
            a1 = a1.add(e.convertShape(VectorOperators.F2D, D, 1));
        }
        return sumInLaneOrder(a0.add(a1));
    }

    /** {@code sum_i a_i * b_i} over {@code n} F32 elements, accumulated in float64. */
    static double dot(MemorySegment a, long aOff, MemorySegment b, long bOff, long n) {
        DoubleVector a0 = DoubleVector.zero(D);
        DoubleVector a1 = DoubleVector.zero(D);
        for (long k = 0; k < n; k += L) {
            VectorMask<Float> m = mask(k, n);
            FloatVector p = load(a, aOff + k, m).mul(load(b, bOff + k, m));
            a0 = a0.add(p.convertShape(VectorOperators.F2D, D, 0));
            a1 = a1.add(p.convertShape(VectorOperators.F2D, D, 1));
        }
        return sumInLaneOrder(a0.add(a1));
    }

    /**
     * The lanes of {@code v} added in lane order. {@code reduceLanes(ADD)} may add them in another
     * order once the JIT compiles the caller, so sums (and the gradients they feed) would depend on
     * JIT timing, and a resumed run would not reproduce an uninterrupted one.
     */
    private static double sumInLaneOrder(DoubleVector v) {
        double s = 0;
        for (double d : v.toArray()) {
            s += d;
        }
        return s;
    }
}
