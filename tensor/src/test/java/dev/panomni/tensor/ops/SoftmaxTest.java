package dev.panomni.tensor.ops;

import dev.panomni.tensor.BFloat16;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SoftmaxTest {
    /** Naive float64 (log-)softmax of x (row-major, shape) along dim d. */
    static double[] naive(double[] x, long[] shape, int d, boolean log) {
        long inner = 1;
        for (int i = d + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        long n = shape[d];
        long outer = x.length / (n * inner);
        double[] y = new double[x.length];
        for (long o = 0; o < outer; o++) {
            for (long i = 0; i < inner; i++) {
                double sum = 0;
                for (long r = 0; r < n; r++) {
                    sum += Math.exp(x[(int) ((o * n + r) * inner + i)]);
                }
                for (long r = 0; r < n; r++) {
                    int at = (int) ((o * n + r) * inner + i);
                    y[at] = log ? x[at] - Math.log(sum) : Math.exp(x[at]) / sum;
                }
            }
        }
        return y;
    }

    @Test
    void softmaxAndLogSoftmaxAlongEveryDimMatchReferenceAndFiniteDifferences() {
        long[][] shapes = {{3, 5, 7}, {4, 37}, {19}};
        int seed = 1;
        for (long[] shape : shapes) {
            for (int dim = -1; dim < shape.length; dim++) {
                int d = dim < 0 ? dim + shape.length : dim;
                int fd = dim;
                String what = Arrays.toString(shape) + " dim " + dim;
                GradCheck.check("softmax " + what, t -> {
                    Tensor y = Softmax.softmax(t[0], fd);
                    assertTrue(y.isContiguous());
                    return y;
                }, in -> naive(in[0], shape, d, false), new long[][] {shape}, seed++);
                GradCheck.check("logSoftmax " + what, t -> Softmax.logSoftmax(t[0], fd),
                        in -> naive(in[0], shape, d, true), new long[][] {shape}, seed++);
            }
        }
    }

    @Test
    void largeAndInfiniteLogitsStayFinite() {
        try (Scope s = Scope.open()) {
            Tensor big = Tensor.of(new float[] {1000, 1001, 1002, -1e30f, 1e30f, 0}, 2, 3);
            float[] p = Softmax.softmax(big, 1).toFloatArray();
            double[] ref = naive(new double[] {0, 1, 2}, new long[] {3}, 0, false);
            for (int i = 0; i < 3; i++) {
                assertEquals(ref[i], p[i], 1e-6);
            }
            assertArrayEquals(new float[] {0, 1, 0}, Arrays.copyOfRange(p, 3, 6));
            float[] lp = Softmax.logSoftmax(big, 1).toFloatArray();
            double[] lref = naive(new double[] {0, 1, 2}, new long[] {3}, 0, true);
            for (int i = 0; i < 3; i++) {
                assertEquals(lref[i], lp[i], 1e-5);
            }
            assertEquals(0f, lp[4]);
            assertEquals(-1e30f, lp[5], 1e24f);

            Tensor masked = Tensor.of(new float[] {0, Float.NEGATIVE_INFINITY, 0}, 3);
            assertArrayEquals(new float[] {0.5f, 0, 0.5f}, Softmax.softmax(masked, 0).toFloatArray());
            float[] lm = Softmax.logSoftmax(masked, 0).toFloatArray();
            assertEquals(Float.NEGATIVE_INFINITY, lm[1]);
            assertEquals((float) Math.log(0.5), lm[0], 1e-7f);

            assertEquals(1f, Softmax.softmax(Tensor.scalar(3), 0).item());
        }
    }

    @Test
    void longRowsKeepAccuracy() {
        // A vocabulary-sized row: the sum of exponentials is accumulated in float64.
        try (Scope s = Scope.open()) {
            int n = 50_021;
            Random rng = new Random(4);
            float[] v = new float[n];
            double[] dv = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = (float) (rng.nextGaussian() * 3);
                dv[i] = v[i];
            }
            float[] lp = Softmax.logSoftmax(Tensor.of(v, 1, n), -1).toFloatArray();
            double[] ref = naive(dv, new long[] {n}, 0, true);
            for (int i = 0; i < n; i++) {
                assertEquals(ref[i], lp[i], 2e-6 * Math.max(1, Math.abs(ref[i])), "element " + i);
            }
        }
    }

    @Test
    void bf16InputsComputeInF32AndRoundOnce() {
        try (Scope s = Scope.open()) {
            Random rng = new Random(2);
            Tensor x = Tensor.of(GradCheck.random(rng, 5 * 23), 5, 23).to(DType.BF16).requiresGrad(true);
            Tensor xf = x.detach().to(DType.F32).requiresGrad(true);
            for (int dim : new int[] {0, 1}) {
                Tensor y = Softmax.logSoftmax(x, dim);
                assertEquals(DType.BF16, y.dtype());
                float[] expected = Softmax.logSoftmax(xf, dim).toFloatArray();
                float[] got = y.toFloatArray();
                for (int i = 0; i < got.length; i++) {
                    assertEquals(BFloat16.toFloat(BFloat16.fromFloat(expected[i])), got[i], 0f, "dim " + dim + " at " + i);
                }
            }
            Random g = new Random(3);
            float[] seed = GradCheck.random(g, 5 * 23);
            Softmax.softmax(x, 0).backward(Tensor.of(seed, 5, 23).to(DType.BF16));
            Softmax.softmax(xf, 0).backward(Tensor.of(seed, 5, 23).to(DType.BF16).to(DType.F32));
            assertEquals(DType.BF16, x.grad().dtype());
            assertTrue(GradCheck.relError(x.grad().toFloatArray(), xf.grad().toFloatArray()) < 2e-2);
        }
    }

    @Test
    void badDimNamesTheOpAndShape() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(2, 3);
            TensorOpException e = assertThrows(TensorOpException.class, () -> Softmax.softmax(x, 2));
            assertTrue(e.getMessage().startsWith("softmax:") && e.getMessage().contains("dim 2")
                    && e.getMessage().contains("[2, 3]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Softmax.logSoftmax(x, -3));
            assertTrue(e.getMessage().startsWith("logSoftmax:") && e.getMessage().contains("[2, 3]"), e.getMessage());
            Tensor ids = Tensor.ofLongs(new long[] {1, 2}, 2);
            e = assertThrows(TensorOpException.class, () -> Softmax.softmax(ids, 0));
            assertTrue(e.getMessage().startsWith("softmax:") && e.getMessage().contains("I64"), e.getMessage());
        }
    }
}
