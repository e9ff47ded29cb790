package dev.panomni.tensor.ops;

import dev.panomni.tensor.BFloat16;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.testing.GradCheck;
import dev.panomni.tensor.testing.ReferenceMath;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UnaryMathTest {
    /** 7 x 13 = 91 elements: several full vectors and a partial one at any vector width. */
    private static final long[] SHAPE = {7, 13};
    private static final double K = Math.sqrt(2 / Math.PI);

    private record Case(String name, UnaryOperator<Tensor> op, DoubleUnaryOperator ref, double lo, double hi) {
    }

    private static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    private static Case[] cases() {
        return new Case[] {
            new Case("exp", UnaryMath::exp, Math::exp, -3, 3),
            new Case("log", UnaryMath::log, Math::log, 0.2, 3),
            new Case("sqrt", UnaryMath::sqrt, Math::sqrt, 0.2, 3),
            new Case("rsqrt", UnaryMath::rsqrt, x -> 1 / Math.sqrt(x), 0.2, 3),
            new Case("tanh", UnaryMath::tanh, Math::tanh, -3, 3),
            new Case("sigmoid", UnaryMath::sigmoid, UnaryMathTest::sigmoid, -6, 6),
            new Case("silu", UnaryMath::silu, x -> x * sigmoid(x), -6, 6),
            new Case("geluTanh", UnaryMath::geluTanh, x -> 0.5 * x * (1 + Math.tanh(K * (x + 0.044715 * x * x * x))), -4, 4),
            new Case("geluErf", UnaryMath::geluErf, x -> x * ReferenceMath.gaussianCdf(x), -4, 4),
            new Case("square", UnaryMath::square, x -> x * x, -3, 3),
            new Case("pow3", t -> UnaryMath.pow(t, 3), x -> x * x * x, -2, 2),
            new Case("pow2.5", t -> UnaryMath.pow(t, 2.5), x -> Math.pow(x, 2.5), 0.2, 3),
            new Case("pow-1.5", t -> UnaryMath.pow(t, -1.5), x -> Math.pow(x, -1.5), 0.3, 3),
            new Case("pow0.5", t -> UnaryMath.pow(t, 0.5), Math::sqrt, 0.2, 3),
            new Case("pow-1", t -> UnaryMath.pow(t, -1), x -> 1 / x, 0.3, 3),
            new Case("pow2", t -> UnaryMath.pow(t, 2), x -> x * x, -3, 3),
            new Case("abs", UnaryMath::abs, Math::abs, -3, 3),
        };
    }

    private static float[] uniform(Random rng, long n, double lo, double hi) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (lo + (hi - lo) * rng.nextDouble());
        }
        return v;
    }

    private static GradCheck.Reference elementwise(DoubleUnaryOperator f) {
        return in -> {
            double[] out = new double[in[0].length];
            for (int i = 0; i < out.length; i++) {
                out[i] = f.applyAsDouble(in[0][i]);
            }
            return out;
        };
    }

    @Test
    void forwardAndBackwardMatchFloat64Reference() {
        int seed = 100;
        for (Case c : cases()) {
            Random rng = new Random(seed++);
            float[] x = uniform(rng, 91, c.lo, c.hi);
            GradCheck.check(c.name, t -> c.op.apply(t[0]), elementwise(c.ref), new long[][] {SHAPE},
                    new float[][] {x}, new boolean[] {true}, 1e-6, 1e-4, seed++);
        }
    }

    @Test
    void stridedInputsAreReadInLogicalOrder() {
        // The op sees a transposed view; the reference reads the same elements in the view's order.
        Random rng = new Random(5);
        float[] x = uniform(rng, 91, -2, 2);
        GradCheck.check("tanhTransposed", t -> UnaryMath.tanh(t[0].transpose(0, 1)), in -> {
            double[] out = new double[91];
            for (int i = 0; i < 13; i++) {
                for (int j = 0; j < 7; j++) {
                    out[i * 7 + j] = Math.tanh(in[0][j * 13 + i]);
                }
            }
            return out;
        }, new long[][] {SHAPE}, new float[][] {x}, new boolean[] {true}, 1e-6, 1e-4, 6);
    }

    @Test
    void powZeroIsOneWithZeroGradient() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {-2f, 0f, 3f}, 3).requiresGrad(true);
            Tensor y = UnaryMath.pow(x, 0);
            assertArrayEquals(new float[] {1f, 1f, 1f}, y.toFloatArray());
            y.backward(Tensor.ones(3));
            assertArrayEquals(new float[] {0f, 0f, 0f}, x.grad().toFloatArray());
        }
    }

    @Test
    void geluErfIsAccurateElementwise() {
        // Per element, not just in norm: x Phi(x) against float64, on a grid through both tails.
        try (Scope s = Scope.open()) {
            float[] x = new float[2001];
            for (int i = 0; i < x.length; i++) {
                x[i] = -5f + i * 0.005f;
            }
            float[] y = UnaryMath.geluErf(Tensor.of(x, x.length)).toFloatArray();
            for (int i = 0; i < x.length; i++) {
                double ref = x[i] * ReferenceMath.gaussianCdf(x[i]);
                double tol = x[i] >= 0 ? 3e-7 : x[i] >= -3 ? 2e-6 : 6e-6;
                assertTrue(Math.abs(y[i] - ref) <= tol * Math.abs(ref) + 1e-30,
                        "geluErf(" + x[i] + ") = " + y[i] + ", expected " + ref);
            }
        }
    }

    @Test
    void specialValues() {
        try (Scope s = Scope.open()) {
            float inf = Float.POSITIVE_INFINITY;
            Tensor x = Tensor.of(new float[] {0f, -1f, inf}, 3);
            float[] log = UnaryMath.log(x).toFloatArray();
            assertEquals(Float.NEGATIVE_INFINITY, log[0]);
            assertTrue(Float.isNaN(log[1]));
            assertEquals(inf, log[2]);

            Tensor big = Tensor.of(new float[] {-200f, 100f, -inf, 0f}, 4);
            assertArrayEquals(new float[] {0f, inf, 0f, 1f}, UnaryMath.exp(big).toFloatArray());
            assertArrayEquals(new float[] {0f, 1f, 0f, 0.5f}, UnaryMath.sigmoid(big).toFloatArray());
            assertArrayEquals(new float[] {-1f, 1f, -1f, 0f}, UnaryMath.tanh(big).toFloatArray());
            float[] silu = UnaryMath.silu(big).toFloatArray();
            assertEquals(0f, silu[0], 1e-30f);
            assertEquals(100f, silu[1]);
            float[] gelu = UnaryMath.geluErf(big).toFloatArray();
            assertEquals(0f, gelu[0], 0f);
            assertEquals(100f, gelu[1]);
            float[] geluT = UnaryMath.geluTanh(big).toFloatArray();
            assertEquals(0f, geluT[0], 0f);
            assertEquals(100f, geluT[1]);

            Tensor zero = Tensor.of(new float[] {0f}, 1);
            assertEquals(0f, UnaryMath.sqrt(zero).item());
            assertEquals(inf, UnaryMath.rsqrt(zero).item());
            assertTrue(Float.isNaN(UnaryMath.pow(Tensor.of(new float[] {-2f}, 1), 0.5).item()));
            assertEquals(-8f, UnaryMath.pow(Tensor.of(new float[] {-2f}, 1), 3).item(), 1e-5f);
            assertEquals(16f, UnaryMath.pow(Tensor.of(new float[] {-2f}, 1), 4).item(), 1e-5f);
            assertEquals(-0.125f, UnaryMath.pow(Tensor.of(new float[] {-2f}, 1), -3).item(), 1e-8f);
            assertEquals(1f, UnaryMath.exp(Tensor.scalar(0)).item());

            // d|x|/dx is taken as 0 at 0
            Tensor a = Tensor.of(new float[] {-2f, 0f, 3f}, 3).requiresGrad(true);
            UnaryMath.abs(a).backward(Tensor.ones(3));
            assertArrayEquals(new float[] {-1f, 0f, 1f}, a.grad().toFloatArray());
        }
    }

    @Test
    void bf16InputsComputeInF32AndRoundOnce() {
        try (Scope s = Scope.open()) {
            Random rng = new Random(3);
            Tensor x = Tensor.of(uniform(rng, 91, 0.2, 3), SHAPE).to(DType.BF16).requiresGrad(true);
            Tensor xf = x.detach().to(DType.F32).requiresGrad(true);
            for (Case c : cases()) {
                Tensor y = c.op.apply(x);
                assertEquals(DType.BF16, y.dtype(), c.name);
                float[] expected = c.op.apply(xf).toFloatArray();
                float[] got = y.toFloatArray();
                for (int i = 0; i < got.length; i++) {
                    assertEquals(BFloat16.toFloat(BFloat16.fromFloat(expected[i])), got[i], 0f, c.name + " at " + i);
                }
            }
            Tensor y = UnaryMath.geluErf(x);
            Tensor g = Tensor.ones(DType.BF16, Device.CPU, SHAPE);
            y.backward(g);
            UnaryMath.geluErf(xf).backward(Tensor.ones(SHAPE));
            assertEquals(DType.BF16, x.grad().dtype());
            assertTrue(GradCheck.relError(x.grad().toFloatArray(), xf.grad().toFloatArray()) < 1e-2);
        }
    }

    @Test
    void badInputsNameTheOpAndTheTensor() {
        try (Scope s = Scope.open()) {
            Tensor ids = Tensor.ofLongs(new long[] {1, 2, 3, 4, 5, 6}, 2, 3);
            TensorOpException e = assertThrows(TensorOpException.class, () -> UnaryMath.exp(ids));
            assertTrue(e.getMessage().startsWith("exp:") && e.getMessage().contains("[2, 3]")
                    && e.getMessage().contains("I64"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> UnaryMath.geluErf(ids));
            assertTrue(e.getMessage().startsWith("geluErf:"), e.getMessage());
            Tensor x = Tensor.zeros(2, 3);
            e = assertThrows(TensorOpException.class, () -> UnaryMath.pow(x, Double.NaN));
            assertTrue(e.getMessage().startsWith("pow:") && e.getMessage().contains("NaN")
                    && e.getMessage().contains("[2, 3]"), e.getMessage());
        }
    }
}
