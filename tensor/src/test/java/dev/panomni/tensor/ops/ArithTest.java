package dev.panomni.tensor.ops;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ArithTest {
    /** Naive broadcast reference: out[i] = f(a[idxA(i)], b[idxB(i)]). */
    static GradCheck.Reference broadcastRef(long[] as, long[] bs, java.util.function.DoubleBinaryOperator f) {
        long[] os = dev.panomni.tensor.Shapes.broadcast("ref", as, bs);
        return in -> {
            int n = (int) dev.panomni.tensor.Shapes.numel(os);
            double[] out = new double[n];
            for (int i = 0; i < n; i++) {
                out[i] = f.applyAsDouble(in[0][(int) src(i, os, as)], in[1][(int) src(i, os, bs)]);
            }
            return out;
        };
    }

    static long src(long linear, long[] os, long[] s) {
        long idx = 0;
        long stride = 1;
        long rem = linear;
        int shift = os.length - s.length;
        long[] pos = new long[os.length];
        for (int d = os.length - 1; d >= 0; d--) {
            pos[d] = rem % os[d];
            rem /= os[d];
        }
        for (int d = s.length - 1; d >= 0; d--) {
            long p = s[d] == 1 ? 0 : pos[d + shift];
            idx += p * stride;
            stride *= s[d];
        }
        return idx;
    }

    @Test
    void binaryOpsWithBroadcastingMatchReferenceAndFiniteDifferences() {
        long[][][] cases = {
            {{3, 5}, {3, 5}},
            {{4, 7}, {7}},
            {{2, 1, 5}, {3, 1}},
            {{1}, {6, 3}},
            {{}, {2, 3}},
        };
        int seed = 1;
        for (long[][] c : cases) {
            GradCheck.check("add" + java.util.Arrays.deepToString(c), t -> Arith.add(t[0], t[1]),
                    broadcastRef(c[0], c[1], Double::sum), c, seed++);
            GradCheck.check("sub", t -> Arith.sub(t[0], t[1]), broadcastRef(c[0], c[1], (x, y) -> x - y), c, seed++);
            GradCheck.check("mul", t -> Arith.mul(t[0], t[1]), broadcastRef(c[0], c[1], (x, y) -> x * y), c, seed++);
        }
        // Division: keep the divisor away from zero.
        java.util.Random rng = new java.util.Random(7);
        float[] a = GradCheck.random(rng, 12);
        float[] b = GradCheck.random(rng, 4);
        for (int i = 0; i < b.length; i++) {
            b[i] = 1.5f + b[i];
        }
        GradCheck.check("div", t -> Arith.div(t[0], t[1]), broadcastRef(new long[] {3, 4}, new long[] {4}, (x, y) -> x / y),
                new long[][] {{3, 4}, {4}}, new float[][] {a, b}, new boolean[] {true, true}, 1e-6, 1e-3, 9);
    }

    @Test
    void scalarOpsAndStridedInputs() {
        GradCheck.check("affine", t -> Arith.affine("affine", t[0].transpose(0, 1), 2.5, -1.0),
                in -> {
                    double[] o = new double[15];
                    for (int i = 0; i < 5; i++) {
                        for (int j = 0; j < 3; j++) {
                            o[i * 3 + j] = in[0][j * 5 + i] * 2.5 - 1.0;
                        }
                    }
                    return o;
                }, new long[][] {{3, 5}}, 11);
    }

    @Test
    void bf16InputsComputeInF32AndRoundOnce() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.of(new float[] {1f, 2f, 3f}, 3).to(dev.panomni.tensor.DType.BF16);
            Tensor b = Tensor.of(new float[] {0.5f, 0.25f, 0.125f}, 3).to(dev.panomni.tensor.DType.BF16);
            Tensor c = Arith.add(a, b);
            assertEquals(dev.panomni.tensor.DType.BF16, c.dtype());
            assertArrayEquals(new float[] {1.5f, 2.25f, 3.125f}, c.toFloatArray());
        }
    }

    @Test
    void badInputsNameTheOpAndShapes() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.zeros(2, 3);
            Tensor b = Tensor.zeros(4, 5);
            TensorOpException e = assertThrows(TensorOpException.class, () -> Arith.add(a, b));
            assertTrue(e.getMessage().contains("add") && e.getMessage().contains("[2, 3]")
                    && e.getMessage().contains("[4, 5]"), e.getMessage());
            Tensor c = Tensor.zeros(dev.panomni.tensor.DType.BF16, dev.panomni.tensor.Device.CPU, 2, 3);
            e = assertThrows(TensorOpException.class, () -> Arith.mul(a, c));
            assertTrue(e.getMessage().contains("mul") && e.getMessage().contains("dtype mismatch"), e.getMessage());
        }
    }

    @Test
    void gradientsAccumulateAcrossUsesAndBackwardCalls() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, 2, 3}, 3).requiresGrad(true);
            Tensor y = Arith.mul(x, x);          // dy/dx = 2x
            Tensor z = Arith.add(y, x);          // dz/dx = 2x + 1
            z.backward(Tensor.ones(3));
            assertArrayEquals(new float[] {3, 5, 7}, x.grad().toFloatArray());
            Tensor w = Arith.mulScalar(x, 2);
            w.backward(Tensor.ones(3));
            assertArrayEquals(new float[] {5, 7, 9}, x.grad().toFloatArray());
        }
    }

    /**
     * Empty tensors (an expert-parallel rank whose experts got no tokens) go through the element-wise
     * ops and their backward, broadcast included, with empty gradients: the strided walk once divided
     * by a zero extent, which ended that rank's backward and left its peers waiting in a collective.
     */
    @Test
    void emptyTensorsGoThroughArithmeticAndItsBackward() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.zeros(0, 4).requiresGrad(true);
            Tensor b = Tensor.zeros(4).requiresGrad(true);
            Tensor y = Arith.mul(Arith.add(a, b), Tensor.zeros(0, 4));
            assertArrayEquals(new long[] {0, 4}, y.shape());
            Reductions.sumAll(y).backward();
            assertArrayEquals(new long[] {0, 4}, a.grad().shape());
            assertArrayEquals(new float[] {0, 0, 0, 0}, b.grad().toFloatArray());
            assertArrayEquals(new float[] {0, 0, 0, 0}, Arith.sumTo(Tensor.zeros(0, 4), new long[] {4}).toFloatArray());
        }
    }
}
