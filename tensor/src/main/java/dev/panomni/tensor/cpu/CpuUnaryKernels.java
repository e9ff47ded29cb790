package dev.panomni.tensor.cpu;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.UnaryKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.panomni.tensor.cpu.VectorMath.L;
import static dev.panomni.tensor.cpu.VectorMath.load;
import static dev.panomni.tensor.cpu.VectorMath.mask;
import static dev.panomni.tensor.cpu.VectorMath.store;

/**
 * CPU elementwise math on F32, vectorized. Each op has its own loop with the function written
 * inline: a vector passed through a call that the JIT does not inline is boxed on the heap, which
 * costs more than the math, so the op dispatch stays outside the loops.
 */
final class CpuUnaryKernels implements UnaryKernels {
    private static final long GRAIN = 1 << 13;
    /** sqrt(2 / pi), the GELU tanh-approximation scale. */
    private static final float GELU_K = (float) Math.sqrt(2 / Math.PI);
    private static final float GELU_C = 0.044715f;

    @Override
    public void forward(UnaryOp op, double exponent, Tensor x, Tensor y) {
        VectorMath.requireContiguousF32("unary " + op, x, y);
        MemorySegment xs = x.storage().segment();
        MemorySegment ys = y.storage().segment();
        long xo = x.offset();
        long yo = y.offset();
        CpuParallel.forRange(y.numel(), GRAIN, (s, e) -> forwardRange(op, exponent, xs, xo, ys, yo, s, e));
    }

    @Override
    public void backward(UnaryOp op, double exponent, Tensor saved, Tensor gradOut, Tensor gradIn) {
        VectorMath.requireContiguousF32("unary " + op + " backward", saved, gradOut, gradIn);
        MemorySegment ss = saved.storage().segment();
        MemorySegment gs = gradOut.storage().segment();
        MemorySegment is = gradIn.storage().segment();
        long so = saved.offset();
        long go = gradOut.offset();
        long io = gradIn.offset();
        CpuParallel.forRange(gradIn.numel(), GRAIN, (s, e) -> backwardRange(op, exponent, ss, so, gs, go, is, io, s, e));
    }

    private static void forwardRange(UnaryOp op, double exponent, MemorySegment xs, long xo, MemorySegment ys, long yo,
                                     long s, long e) {
        switch (op) {
            case EXP -> {
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    store(load(xs, xo + k, m).lanewise(VectorOperators.EXP), ys, yo + k, m);
                }
            }
            case LOG -> {
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    store(load(xs, xo + k, m).lanewise(VectorOperators.LOG), ys, yo + k, m);
                }
            }
            case SQRT -> {
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    store(load(xs, xo + k, m).sqrt(), ys, yo + k, m);
                }
            }
            case RSQRT -> {
                FloatVector one = FloatVector.broadcast(VectorMath.F, 1f);
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    store(one.div(load(xs, xo + k, m).sqrt()), ys, yo + k, m);
                }
            }
            case TANH -> {
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    store(load(xs, xo + k, m).lanewise(VectorOperators.TANH), ys, yo + k, m);
                }
            }
            case SIGMOID -> {
                FloatVector one = FloatVector.broadcast(VectorMath.F, 1f);
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    FloatVector x = load(xs, xo + k, m);
                    store(one.div(x.neg().lanewise(VectorOperators.EXP).add(1f)), ys, yo + k, m);
                }
            }
            case SILU -> {
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    FloatVector x = load(xs, xo + k, m);
                    store(x.div(x.neg().lanewise(VectorOperators.EXP).add(1f)), ys, yo + k, m);
                }
            }
            case GELU_TANH -> {
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    FloatVector x = load(xs, xo + k, m);
                    FloatVector u = x.mul(x).fma(x.mul(GELU_C), x).mul(GELU_K);
                    FloatVector t = u.lanewise(VectorOperators.TANH);
                    store(x.mul(0.5f).mul(t.add(1f)), ys, yo + k, m);
                }
            }
            case GELU_ERF -> {
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    FloatVector x = load(xs, xo + k, m);
                    store(x.mul(VectorMath.gaussianCdf(x)), ys, yo + k, m);
                }
            }
            case SQUARE -> {
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    FloatVector x = load(xs, xo + k, m);
                    store(x.mul(x), ys, yo + k, m);
                }
            }
            case POW -> powRange(exponent, xs, xo, ys, yo, s, e);
            case ABS -> {
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    store(load(xs, xo + k, m).abs(), ys, yo + k, m);
                }
            }
        }
    }

    /** x^p, with exact shortcuts for the exponents models use (2, 1, 0.5, -0.5, -1, 0). */
    private static void powRange(double p, MemorySegment xs, long xo, MemorySegment ys, long yo, long s, long e) {
        float pf = (float) p;
        FloatVector one = FloatVector.broadcast(VectorMath.F, 1f);
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector x = load(xs, xo + k, m);
            FloatVector y;
            if (p == 2) {
                y = x.mul(x);
            } else if (p == 1) {
                y = x;
            } else if (p == 0) {
                y = one;
            } else if (p == 0.5) {
                y = x.sqrt();
            } else if (p == -0.5) {
                y = one.div(x.sqrt());
            } else if (p == -1) {
                y = one.div(x);
            } else {
                y = x.lanewise(VectorOperators.POW, pf);
            }
            store(y, ys, yo + k, m);
        }
    }

    private static void backwardRange(UnaryOp op, double exponent, MemorySegment ss, long so, MemorySegment gs, long go,
                                      MemorySegment is, long io, long s, long e) {
        switch (op) {
            case EXP -> {
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    store(load(gs, go + k, m).mul(load(ss, so + k, m)), is, io + k, m);
                }
            }
            case LOG -> {
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    store(load(gs, go + k, m).div(load(ss, so + k, m)), is, io + k, m);
                }
            }
            case SQRT -> {
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    store(load(gs, go + k, m).mul(0.5f).div(load(ss, so + k, m)), is, io + k, m);
                }
            }
            case RSQRT -> {
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    FloatVector y = load(ss, so + k, m);
                    store(load(gs, go + k, m).mul(y.mul(y).mul(y).mul(-0.5f)), is, io + k, m);
                }
            }
            case TANH -> {
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    FloatVector y = load(ss, so + k, m);
                    FloatVector d = y.neg().fma(y, FloatVector.broadcast(VectorMath.F, 1f));
                    store(load(gs, go + k, m).mul(d), is, io + k, m);
                }
            }
            case SIGMOID -> {
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    FloatVector y = load(ss, so + k, m);
                    FloatVector d = y.neg().add(1f).mul(y);
                    store(load(gs, go + k, m).mul(d), is, io + k, m);
                }
            }
            case SILU -> {
                FloatVector one = FloatVector.broadcast(VectorMath.F, 1f);
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    FloatVector x = load(ss, so + k, m);
                    FloatVector sg = one.div(x.neg().lanewise(VectorOperators.EXP).add(1f));
                    FloatVector d = sg.mul(one.sub(sg).fma(x, one));
                    store(load(gs, go + k, m).mul(d), is, io + k, m);
                }
            }
            case GELU_TANH -> {
                FloatVector one = FloatVector.broadcast(VectorMath.F, 1f);
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    FloatVector x = load(ss, so + k, m);
                    FloatVector x2 = x.mul(x);
                    FloatVector u = x2.fma(x.mul(GELU_C), x).mul(GELU_K);
                    FloatVector t = u.lanewise(VectorOperators.TANH);
                    // d/dx [x/2 (1 + t)] = (1 + t)/2 + x/2 (1 - t^2) K (1 + 3 C x^2)
                    FloatVector du = x2.mul(3 * GELU_C).add(1f).mul(GELU_K);
                    FloatVector sech2 = t.neg().fma(t, one);
                    FloatVector d = x.mul(0.5f).mul(sech2).mul(du).add(t.add(1f).mul(0.5f));
                    store(load(gs, go + k, m).mul(d), is, io + k, m);
                }
            }
            case GELU_ERF -> {
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    FloatVector x = load(ss, so + k, m);
                    FloatVector d = x.fma(VectorMath.gaussianPdf(x), VectorMath.gaussianCdf(x));
                    store(load(gs, go + k, m).mul(d), is, io + k, m);
                }
            }
            case SQUARE -> {
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    store(load(gs, go + k, m).mul(load(ss, so + k, m).mul(2f)), is, io + k, m);
                }
            }
            case POW -> powBackwardRange(exponent, ss, so, gs, go, is, io, s, e);
            case ABS -> {
                FloatVector one = FloatVector.broadcast(VectorMath.F, 1f);
                for (long k = s; k < e; k += L) {
                    VectorMask<Float> m = mask(k, e);
                    FloatVector x = load(ss, so + k, m);
                    // sign(x): 0 at 0, NaN at NaN (blend order matters: NaN compares false to everything)
                    FloatVector sign = one.blend(-1f, x.compare(VectorOperators.LT, 0f))
                            .blend(0f, x.compare(VectorOperators.EQ, 0f))
                            .blend(Float.NaN, x.test(VectorOperators.IS_NAN));
                    store(load(gs, go + k, m).mul(sign), is, io + k, m);
                }
            }
        }
    }

    /** g * p * x^(p - 1); 0 for p = 0 (x^0 is constant even at x = 0). */
    private static void powBackwardRange(double p, MemorySegment ss, long so, MemorySegment gs, long go,
                                         MemorySegment is, long io, long s, long e) {
        float pf = (float) p;
        float pm1 = (float) (p - 1);
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector x = load(ss, so + k, m);
            FloatVector g = load(gs, go + k, m);
            FloatVector d;
            if (p == 0) {
                d = FloatVector.zero(VectorMath.F);
            } else if (p == 1) {
                d = g;
            } else if (p == 2) {
                d = g.mul(x.mul(2f));
            } else {
                d = g.mul(x.lanewise(VectorOperators.POW, pm1).mul(pf));
            }
            store(d, is, io + k, m);
        }
    }
}
