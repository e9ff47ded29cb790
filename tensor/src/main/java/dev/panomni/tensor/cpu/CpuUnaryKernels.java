package dev.panomni.tensor.cpu;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.UnaryKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.panomni.tensor.cpu.VectorMath.L;
import static dev.panomni.tensor.cpu.VectorMath.load;
import static dev.panomni.tensor.cpu.VectorMath.mask;
import static dev.panomni.tensor.cpu.VectorMath.store;

/**
 * CPU elementwise math on F32, vectorized. Each op has its own loop method with the function
 * written inline, and the op dispatch stays outside the loops: the JIT then compiles and profiles
 * each loop on its own (one loop shared by all ops, behind a switch, ran 5 to 30 times slower
 * once several ops had run, as vectors got boxed across calls the JIT gave up inlining).
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

    private static void forwardRange(UnaryOp op, double p, MemorySegment xs, long xo, MemorySegment ys, long yo,
                                     long s, long e) {
        switch (op) {
            case EXP -> exp(xs, xo, ys, yo, s, e);
            case LOG -> log(xs, xo, ys, yo, s, e);
            case SQRT -> sqrt(xs, xo, ys, yo, s, e);
            case RSQRT -> rsqrt(xs, xo, ys, yo, s, e);
            case TANH -> tanh(xs, xo, ys, yo, s, e);
            case SIGMOID -> sigmoid(xs, xo, ys, yo, s, e);
            case SILU -> silu(xs, xo, ys, yo, s, e);
            case GELU_TANH -> geluTanh(xs, xo, ys, yo, s, e);
            case GELU_ERF -> geluErf(xs, xo, ys, yo, s, e);
            case SQUARE -> square(xs, xo, ys, yo, s, e);
            case ABS -> abs(xs, xo, ys, yo, s, e);
            case POW -> {
                // exact shortcuts for the exponents models use
                if (p == 2) {
                    square(xs, xo, ys, yo, s, e);
                } else if (p == 1) {
                    MemorySegment.copy(xs, (xo + s) * 4, ys, (yo + s) * 4, (e - s) * 4);
                } else if (p == 0) {
                    for (long k = s; k < e; k++) {
                        ys.setAtIndex(ValueLayout.JAVA_FLOAT, yo + k, 1f);
                    }
                } else if (p == 0.5) {
                    sqrt(xs, xo, ys, yo, s, e);
                } else if (p == -0.5) {
                    rsqrt(xs, xo, ys, yo, s, e);
                } else if (p == -1) {
                    reciprocal(xs, xo, ys, yo, s, e);
                } else {
                    pow(xs, xo, ys, yo, s, e, (float) p);
                }
            }
        }
    }

    private static void exp(MemorySegment xs, long xo, MemorySegment ys, long yo, long s, long e) {
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector x = load(xs, xo + k, m);
            // VectorExp, not the EXP intrinsic (SVML once compiled, Math.exp before): the same bits
            // however warm the JIT is, so training runs (and resumed runs) repeat exactly.
            store(VectorExp.exp(x), ys, yo + k, m);
        }
    }

    private static void log(MemorySegment xs, long xo, MemorySegment ys, long yo, long s, long e) {
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector x = load(xs, xo + k, m);
            store(x.lanewise(VectorOperators.LOG), ys, yo + k, m);
        }
    }

    private static void sqrt(MemorySegment xs, long xo, MemorySegment ys, long yo, long s, long e) {
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector x = load(xs, xo + k, m);
            store(x.sqrt(), ys, yo + k, m);
        }
    }

    private static void rsqrt(MemorySegment xs, long xo, MemorySegment ys, long yo, long s, long e) {
        FloatVector one = FloatVector.broadcast(VectorMath.F, 1f);
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector x = load(xs, xo + k, m);
            store(one.div(x.sqrt()), ys, yo + k, m);
        }
    }

    private static void reciprocal(MemorySegment xs, long xo, MemorySegment ys, long yo, long s, long e) {
        FloatVector one = FloatVector.broadcast(VectorMath.F, 1f);
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector x = load(xs, xo + k, m);
            store(one.div(x), ys, yo + k, m);
        }
    }

    private static void tanh(MemorySegment xs, long xo, MemorySegment ys, long yo, long s, long e) {
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector x = load(xs, xo + k, m);
            store(x.lanewise(VectorOperators.TANH), ys, yo + k, m);
        }
    }

    private static void sigmoid(MemorySegment xs, long xo, MemorySegment ys, long yo, long s, long e) {
        FloatVector one = FloatVector.broadcast(VectorMath.F, 1f);
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector x = load(xs, xo + k, m);
            store(one.div(x.neg().lanewise(VectorOperators.EXP).add(one)), ys, yo + k, m);
        }
    }

    private static void silu(MemorySegment xs, long xo, MemorySegment ys, long yo, long s, long e) {
        FloatVector one = FloatVector.broadcast(VectorMath.F, 1f);
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector x = load(xs, xo + k, m);
            store(x.div(x.neg().lanewise(VectorOperators.EXP).add(one)), ys, yo + k, m);
        }
    }

    private static void geluTanh(MemorySegment xs, long xo, MemorySegment ys, long yo, long s, long e) {
        FloatVector one = FloatVector.broadcast(VectorMath.F, 1f);
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector x = load(xs, xo + k, m);
            FloatVector u = x.mul(x).fma(x.mul(GELU_C), x).mul(GELU_K);
            store(x.mul(0.5f).mul(u.lanewise(VectorOperators.TANH).add(one)), ys, yo + k, m);
        }
    }

    private static void geluErf(MemorySegment xs, long xo, MemorySegment ys, long yo, long s, long e) {
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector x = load(xs, xo + k, m);
            store(x.mul(VectorMath.gaussianCdf(x)), ys, yo + k, m);
        }
    }

    private static void square(MemorySegment xs, long xo, MemorySegment ys, long yo, long s, long e) {
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector x = load(xs, xo + k, m);
            store(x.mul(x), ys, yo + k, m);
        }
    }

    private static void abs(MemorySegment xs, long xo, MemorySegment ys, long yo, long s, long e) {
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector x = load(xs, xo + k, m);
            store(x.abs(), ys, yo + k, m);
        }
    }

    private static void pow(MemorySegment xs, long xo, MemorySegment ys, long yo, long s, long e, float p) {
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector x = load(xs, xo + k, m);
            store(signedPow(x, p), ys, yo + k, m);
        }
    }

    /**
     * x^p as |x|^p with the sign rules of Math.pow applied after: the vector pow takes a slow path
     * on negative bases (ten times slower), so it only ever sees |x|.
     */
    private static FloatVector signedPow(FloatVector x, float p) {
        FloatVector r = x.abs().lanewise(VectorOperators.POW, p);
        VectorMask<Float> negative = x.compare(VectorOperators.LT, 0f);
        if (p != Math.rint(p)) {
            return r.blend(Float.NaN, negative);
        }
        return Math.abs(p % 2) == 1 ? r.blend(r.neg(), negative) : r;
    }

    private static void backwardRange(UnaryOp op, double p, MemorySegment ss, long so, MemorySegment gs, long go,
                                      MemorySegment is, long io, long s, long e) {
        switch (op) {
            case EXP -> expBackward(ss, so, gs, go, is, io, s, e);
            case LOG -> logBackward(ss, so, gs, go, is, io, s, e);
            case SQRT -> sqrtBackward(ss, so, gs, go, is, io, s, e);
            case RSQRT -> rsqrtBackward(ss, so, gs, go, is, io, s, e);
            case TANH -> tanhBackward(ss, so, gs, go, is, io, s, e);
            case SIGMOID -> sigmoidBackward(ss, so, gs, go, is, io, s, e);
            case SILU -> siluBackward(ss, so, gs, go, is, io, s, e);
            case GELU_TANH -> geluTanhBackward(ss, so, gs, go, is, io, s, e);
            case GELU_ERF -> geluErfBackward(ss, so, gs, go, is, io, s, e);
            case SQUARE -> squareBackward(ss, so, gs, go, is, io, s, e);
            case ABS -> absBackward(ss, so, gs, go, is, io, s, e);
            case POW -> {
                // d/dx x^0 = 0 even at x = 0, where p x^(p-1) would be 0 * inf
                if (p == 0) {
                    is.asSlice((io + s) * 4, (e - s) * 4).fill((byte) 0);
                } else if (p == 1) {
                    MemorySegment.copy(gs, (go + s) * 4, is, (io + s) * 4, (e - s) * 4);
                } else if (p == 2) {
                    squareBackward(ss, so, gs, go, is, io, s, e);
                } else {
                    powBackward(ss, so, gs, go, is, io, s, e, (float) p, (float) (p - 1));
                }
            }
        }
    }

    private static void expBackward(MemorySegment ss, long so, MemorySegment gs, long go, MemorySegment is, long io,
                                 long s, long e) {
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector v = load(ss, so + k, m);
            FloatVector g = load(gs, go + k, m);
            store(g.mul(v), is, io + k, m);
        }
    }

    private static void logBackward(MemorySegment ss, long so, MemorySegment gs, long go, MemorySegment is, long io,
                                 long s, long e) {
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector v = load(ss, so + k, m);
            FloatVector g = load(gs, go + k, m);
            store(g.div(v), is, io + k, m);
        }
    }

    private static void sqrtBackward(MemorySegment ss, long so, MemorySegment gs, long go, MemorySegment is, long io,
                                 long s, long e) {
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector v = load(ss, so + k, m);
            FloatVector g = load(gs, go + k, m);
            store(g.mul(0.5f).div(v), is, io + k, m);
        }
    }

    private static void rsqrtBackward(MemorySegment ss, long so, MemorySegment gs, long go, MemorySegment is, long io,
                                 long s, long e) {
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector v = load(ss, so + k, m);
            FloatVector g = load(gs, go + k, m);
            store(g.mul(v.mul(v).mul(v).mul(-0.5f)), is, io + k, m);
        }
    }

    private static void tanhBackward(MemorySegment ss, long so, MemorySegment gs, long go, MemorySegment is, long io,
                                 long s, long e) {
        FloatVector one = FloatVector.broadcast(VectorMath.F, 1f);
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector v = load(ss, so + k, m);
            FloatVector g = load(gs, go + k, m);
            store(g.mul(v.neg().fma(v, one)), is, io + k, m);
        }
    }

    private static void sigmoidBackward(MemorySegment ss, long so, MemorySegment gs, long go, MemorySegment is, long io,
                                 long s, long e) {
        FloatVector one = FloatVector.broadcast(VectorMath.F, 1f);
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector v = load(ss, so + k, m);
            FloatVector g = load(gs, go + k, m);
            store(g.mul(one.sub(v).mul(v)), is, io + k, m);
        }
    }

    private static void siluBackward(MemorySegment ss, long so, MemorySegment gs, long go, MemorySegment is, long io,
                                 long s, long e) {
        FloatVector one = FloatVector.broadcast(VectorMath.F, 1f);
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector v = load(ss, so + k, m);
            FloatVector g = load(gs, go + k, m);
            FloatVector sg = one.div(v.neg().lanewise(VectorOperators.EXP).add(one));
            // s (1 + x (1 - s))
            store(g.mul(sg.mul(one.sub(sg).fma(v, one))), is, io + k, m);
        }
    }

    private static void geluTanhBackward(MemorySegment ss, long so, MemorySegment gs, long go, MemorySegment is, long io,
                                 long s, long e) {
        FloatVector one = FloatVector.broadcast(VectorMath.F, 1f);
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector v = load(ss, so + k, m);
            FloatVector g = load(gs, go + k, m);
            FloatVector x2 = v.mul(v);
            FloatVector t = x2.fma(v.mul(GELU_C), v).mul(GELU_K).lanewise(VectorOperators.TANH);
            // d/dx [x/2 (1 + t)] = (1 + t)/2 + x/2 (1 - t^2) K (1 + 3 C x^2)
            FloatVector du = x2.mul(3 * GELU_C).add(one).mul(GELU_K);
            FloatVector d = v.mul(0.5f).mul(t.neg().fma(t, one)).fma(du, t.add(one).mul(0.5f));
            store(g.mul(d), is, io + k, m);
        }
    }

    private static void geluErfBackward(MemorySegment ss, long so, MemorySegment gs, long go, MemorySegment is, long io,
                                 long s, long e) {
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector v = load(ss, so + k, m);
            FloatVector g = load(gs, go + k, m);
            // Phi(x) + x phi(x)
            store(g.mul(v.fma(VectorMath.gaussianPdf(v), VectorMath.gaussianCdf(v))), is, io + k, m);
        }
    }

    private static void squareBackward(MemorySegment ss, long so, MemorySegment gs, long go, MemorySegment is, long io,
                                 long s, long e) {
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector v = load(ss, so + k, m);
            FloatVector g = load(gs, go + k, m);
            store(g.mul(v.mul(2f)), is, io + k, m);
        }
    }

    private static void absBackward(MemorySegment ss, long so, MemorySegment gs, long go, MemorySegment is, long io,
                                 long s, long e) {
        FloatVector one = FloatVector.broadcast(VectorMath.F, 1f);
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector v = load(ss, so + k, m);
            FloatVector g = load(gs, go + k, m);
            // sign(x): 0 at 0, NaN at NaN (NaN compares false to everything, so it is set last)
            FloatVector sign = one.blend(-1f, v.compare(VectorOperators.LT, 0f))
                    .blend(0f, v.compare(VectorOperators.EQ, 0f))
                    .blend(Float.NaN, v.test(VectorOperators.IS_NAN));
            store(g.mul(sign), is, io + k, m);
        }
    }

    private static void powBackward(MemorySegment ss, long so, MemorySegment gs, long go, MemorySegment is, long io,
                                    long s, long e, float p, float pm1) {
        for (long k = s; k < e; k += L) {
            VectorMask<Float> m = mask(k, e);
            FloatVector x = load(ss, so + k, m);
            store(load(gs, go + k, m).mul(signedPow(x, pm1).mul(p)), is, io + k, m);
        }
    }
}
