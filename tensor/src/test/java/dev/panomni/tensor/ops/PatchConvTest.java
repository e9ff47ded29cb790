package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PatchConvTest {
    /** Naive strided convolution: out[b, py * nw + px, o] = bias[o] + sum_{c,dy,dx} x[b, c, py*P+dy, px*P+dx] w[o, c, dy, dx]. */
    static double[] ref(double[] x, double[] w, double[] bias, int bsz, int c, int h, int wd, int o, int p) {
        int nh = h / p;
        int nw = wd / p;
        double[] out = new double[bsz * nh * nw * o];
        for (int b = 0; b < bsz; b++) {
            for (int py = 0; py < nh; py++) {
                for (int px = 0; px < nw; px++) {
                    for (int oc = 0; oc < o; oc++) {
                        double s = bias == null ? 0 : bias[oc];
                        for (int ch = 0; ch < c; ch++) {
                            for (int dy = 0; dy < p; dy++) {
                                for (int dx = 0; dx < p; dx++) {
                                    s += x[((b * c + ch) * h + py * p + dy) * wd + px * p + dx]
                                            * w[((oc * c + ch) * p + dy) * p + dx];
                                }
                            }
                        }
                        out[((b * nh + py) * nw + px) * o + oc] = s;
                    }
                }
            }
        }
        return out;
    }

    @Test
    void forwardMatchesNaiveConvolution() {
        int[][] cases = {
            // B, C, H, W, O, P
            {2, 3, 8, 12, 5, 4},
            {1, 1, 3, 5, 2, 1},
            {3, 4, 14, 7, 9, 7},
        };
        long seed = 1;
        for (int[] k : cases) {
            for (boolean withBias : new boolean[] {true, false}) {
                try (Scope s = Scope.open("t")) {
                    Random rng = new Random(seed++);
                    float[] xv = GradCheck.random(rng, (long) k[0] * k[1] * k[2] * k[3]);
                    float[] wv = GradCheck.random(rng, (long) k[4] * k[1] * k[5] * k[5]);
                    float[] bv = GradCheck.random(rng, k[4]);
                    Tensor out = PatchConv.patchConv(Tensor.of(xv, k[0], k[1], k[2], k[3]),
                            Tensor.of(wv, k[4], k[1], k[5], k[5]), withBias ? Tensor.of(bv, k[4]) : null, k[5]);
                    assertArrayEquals(new long[] {k[0], (long) (k[2] / k[5]) * (k[3] / k[5]), k[4]}, out.shape());
                    double[] want = ref(LinalgTest.toDouble(xv), LinalgTest.toDouble(wv),
                            withBias ? LinalgTest.toDouble(bv) : null, k[0], k[1], k[2], k[3], k[4], k[5]);
                    double err = GradCheck.relError(out.toFloatArray(), want);
                    assertTrue(err < 1e-5, java.util.Arrays.toString(k) + " bias=" + withBias + ": relative error " + err);
                }
            }
        }
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        GradCheck.check("patchConv", t -> PatchConv.patchConv(t[0], t[1], t[2], 2),
                in -> ref(in[0], in[1], in[2], 2, 2, 4, 6, 3, 2),
                new long[][] {{2, 2, 4, 6}, {3, 2, 2, 2}, {3}}, 11);
        GradCheck.check("patchConv no bias", t -> PatchConv.patchConv(t[0], t[1], null, 3),
                in -> ref(in[0], in[1], null, 1, 2, 3, 6, 2, 3),
                new long[][] {{1, 2, 3, 6}, {2, 2, 3, 3}}, 12);
    }

    @Test
    void bf16InputsReturnBf16() {
        try (Scope s = Scope.open("t")) {
            Random rng = new Random(20);
            Tensor x = Tensor.of(GradCheck.random(rng, 2 * 3 * 8 * 8), 2, 3, 8, 8).to(DType.BF16).requiresGrad(true);
            Tensor w = Tensor.of(GradCheck.random(rng, 4 * 3 * 4 * 4), 4, 3, 4, 4).to(DType.BF16).requiresGrad(true);
            Tensor b = Tensor.of(GradCheck.random(rng, 4), 4).to(DType.BF16);
            Tensor out = PatchConv.patchConv(x, w, b, 4);
            assertEquals(DType.BF16, out.dtype());
            double[] want = ref(LinalgTest.toDouble(x.toFloatArray()), LinalgTest.toDouble(w.toFloatArray()),
                    LinalgTest.toDouble(b.toFloatArray()), 2, 3, 8, 8, 4, 4);
            assertTrue(GradCheck.relError(out.toFloatArray(), want) < 8e-3);
            out.backward(Tensor.ones(DType.BF16, out.device(), out.shape()));
            assertEquals(DType.BF16, x.grad().dtype());
            assertArrayEquals(x.shape(), x.grad().shape());
            assertArrayEquals(w.shape(), w.grad().shape());
        }
    }

    @Test
    void badInputsNameTheOpAndShapes() {
        try (Scope s = Scope.open("t")) {
            TensorOpException e = assertThrows(TensorOpException.class,
                    () -> PatchConv.patchConv(Tensor.zeros(1, 3, 10, 8), Tensor.zeros(4, 3, 4, 4), null, 4));
            assertTrue(e.getMessage().startsWith("patchConv") && e.getMessage().contains("[1, 3, 10, 8]")
                    && e.getMessage().contains("divisible"), e.getMessage());
            e = assertThrows(TensorOpException.class,
                    () -> PatchConv.patchConv(Tensor.zeros(1, 3, 8, 8), Tensor.zeros(4, 2, 4, 4), null, 4));
            assertTrue(e.getMessage().contains("channels") && e.getMessage().contains("[4, 2, 4, 4]"), e.getMessage());
            e = assertThrows(TensorOpException.class,
                    () -> PatchConv.patchConv(Tensor.zeros(1, 3, 8, 8), Tensor.zeros(4, 3, 2, 2), null, 4));
            assertTrue(e.getMessage().contains("[4, 3, 2, 2]"), e.getMessage());
            e = assertThrows(TensorOpException.class,
                    () -> PatchConv.patchConv(Tensor.zeros(3, 8, 8), Tensor.zeros(4, 3, 4, 4), null, 4));
            assertTrue(e.getMessage().contains("[3, 8, 8]"), e.getMessage());
            e = assertThrows(TensorOpException.class,
                    () -> PatchConv.patchConv(Tensor.zeros(1, 3, 8, 8), Tensor.zeros(4, 3, 4, 4), Tensor.zeros(5), 4));
            assertTrue(e.getMessage().contains("bias") && e.getMessage().contains("[5]"), e.getMessage());
        }
    }
}
