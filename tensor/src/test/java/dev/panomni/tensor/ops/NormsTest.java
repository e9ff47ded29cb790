package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NormsTest {
    static double[] rmsRef(double[] x, double[] w, int d, double eps) {
        int rows = x.length / d;
        double[] y = new double[x.length];
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < d; i++) {
                ss += x[r * d + i] * x[r * d + i];
            }
            double inv = 1 / Math.sqrt(ss / d + eps);
            for (int i = 0; i < d; i++) {
                y[r * d + i] = x[r * d + i] * inv * w[i];
            }
        }
        return y;
    }

    static double[] layerRef(double[] x, double[] w, double[] b, int d, double eps) {
        int rows = x.length / d;
        double[] y = new double[x.length];
        for (int r = 0; r < rows; r++) {
            double mu = 0;
            for (int i = 0; i < d; i++) {
                mu += x[r * d + i];
            }
            mu /= d;
            double var = 0;
            for (int i = 0; i < d; i++) {
                var += (x[r * d + i] - mu) * (x[r * d + i] - mu);
            }
            var /= d;
            double inv = 1 / Math.sqrt(var + eps);
            for (int i = 0; i < d; i++) {
                y[r * d + i] = (x[r * d + i] - mu) * inv * w[i] + (b == null ? 0 : b[i]);
            }
        }
        return y;
    }

    @Test
    void rmsNormMatchesReferenceAndFiniteDifferences() {
        int seed = 3;
        for (long[] xs : new long[][] {{5, 7}, {2, 3, 37}, {1, 16}, {9, 1}}) {
            int d = (int) xs[xs.length - 1];
            GradCheck.check("rmsNorm " + java.util.Arrays.toString(xs), t -> Norms.rmsNorm(t[0], t[1], 1e-5),
                    in -> rmsRef(in[0], in[1], d, 1e-5), new long[][] {xs, {d}}, seed++);
        }
    }

    @Test
    void layerNormMatchesReferenceAndFiniteDifferences() {
        int seed = 30;
        for (long[] xs : new long[][] {{5, 7}, {2, 3, 37}, {4, 16}}) {
            int d = (int) xs[xs.length - 1];
            GradCheck.check("layerNorm " + java.util.Arrays.toString(xs), t -> Norms.layerNorm(t[0], t[1], t[2], 1e-5),
                    in -> layerRef(in[0], in[1], in[2], d, 1e-5), new long[][] {xs, {d}, {d}}, seed++);
            GradCheck.check("layerNorm no bias " + java.util.Arrays.toString(xs),
                    t -> Norms.layerNorm(t[0], t[1], null, 1e-5),
                    in -> layerRef(in[0], in[1], null, d, 1e-5), new long[][] {xs, {d}}, seed++);
        }
    }

    @Test
    void manyRowsSplitIntoBlocksStillSumWeightGradientsExactlyOnce() {
        // 200 rows > the 64 row blocks of the CPU backward: every row must land in exactly one block.
        Random rng = new Random(5);
        int rows = 200;
        int d = 19;
        float[] x = GradCheck.random(rng, (long) rows * d);
        float[] w = GradCheck.random(rng, d);
        GradCheck.check("rmsNorm many rows", t -> Norms.rmsNorm(t[0], t[1], 1e-6), in -> rmsRef(in[0], in[1], d, 1e-6),
                new long[][] {{rows, d}, {d}}, new float[][] {x, w}, new boolean[] {true, true}, 1e-5, 1e-3, 6);
    }

    @Test
    void gradientsAreDeterministic() {
        try (Scope s = Scope.open()) {
            Random rng = new Random(8);
            Tensor x = Tensor.of(GradCheck.random(rng, 300 * 64), 300, 64);
            Tensor w = Tensor.of(GradCheck.random(rng, 64), 64).requiresGrad(true);
            float[] first = null;
            for (int rep = 0; rep < 3; rep++) {
                w.setGrad(null);
                Norms.layerNorm(x, w, null, 1e-5).backward(Tensor.ones(300, 64));
                float[] g = w.grad().toFloatArray();
                if (first == null) {
                    first = g;
                } else {
                    assertArrayEquals(first, g);
                }
            }
        }
    }

    @Test
    void stridedInputAndOnlySomeGradients() {
        // x is a transposed view; only the weight needs a gradient.
        Random rng = new Random(11);
        float[] xv = GradCheck.random(rng, 6 * 4);
        float[] wv = GradCheck.random(rng, 6);
        GradCheck.check("rmsNorm strided", t -> Norms.rmsNorm(t[0].transpose(0, 1), t[1], 1e-6), in -> {
            double[] xt = new double[24];
            for (int i = 0; i < 6; i++) {
                for (int j = 0; j < 4; j++) {
                    xt[j * 6 + i] = in[0][i * 4 + j];
                }
            }
            return rmsRef(xt, in[1], 6, 1e-6);
        }, new long[][] {{6, 4}, {6}}, new float[][] {xv, wv}, new boolean[] {false, true}, 1e-5, 1e-3, 12);
    }

    @Test
    void bf16InputsComputeInF32AndRoundOnce() {
        try (Scope s = Scope.open()) {
            Random rng = new Random(13);
            int d = 40;
            float[] xv = GradCheck.random(rng, 3 * d);
            float[] wv = GradCheck.random(rng, d);
            Tensor x = Tensor.of(xv, 3, d).to(DType.BF16).requiresGrad(true);
            Tensor w = Tensor.of(wv, d).to(DType.BF16).requiresGrad(true);
            Tensor y = Norms.rmsNorm(x, w, 1e-6);
            assertEquals(DType.BF16, y.dtype());
            // Reference on the bf16-rounded inputs, rounded once to bf16.
            double[] xd = toDouble(x.toFloatArray());
            double[] wd = toDouble(w.toFloatArray());
            double[] ref = rmsRef(xd, wd, d, 1e-6);
            float[] got = y.toFloatArray();
            for (int i = 0; i < got.length; i++) {
                float rounded = Tensor.of(new float[] {(float) ref[i]}, 1).to(DType.BF16).toFloatArray()[0];
                assertEquals(rounded, got[i], Math.ulp(rounded), "element " + i);
            }
            y.backward(Tensor.ones(3, d).to(DType.BF16));
            assertEquals(DType.BF16, x.grad().dtype());
            assertEquals(DType.BF16, w.grad().dtype());
            Tensor ln = Norms.layerNorm(x, w, null, 1e-5);
            assertEquals(DType.BF16, ln.dtype());
            double[] lref = layerRef(xd, wd, null, d, 1e-5);
            assertTrue(GradCheck.relError(ln.toFloatArray(), lref) < 1e-2);
        }
    }

    @Test
    void noRecordingWithoutGrad() {
        try (Scope s = Scope.open()) {
            Tensor y = Norms.rmsNorm(Tensor.ones(2, 3), Tensor.ones(3), 1e-6);
            assertNull(y.gradFn());
            assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1}, y.toFloatArray(), 1e-5f);
        }
    }

    @Test
    void badInputsNameTheOpAndShapes() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(4, 8);
            TensorOpException e = assertThrows(TensorOpException.class, () -> Norms.rmsNorm(x, Tensor.zeros(7), 1e-6));
            assertTrue(e.getMessage().startsWith("rmsNorm") && e.getMessage().contains("[8]")
                    && e.getMessage().contains("[7]") && e.getMessage().contains("[4, 8]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Norms.layerNorm(x, Tensor.zeros(8), Tensor.zeros(2, 4), 1e-6));
            assertTrue(e.getMessage().startsWith("layerNorm") && e.getMessage().contains("bias")
                    && e.getMessage().contains("[2, 4]"), e.getMessage());
            Tensor wb = Tensor.zeros(DType.BF16, Device.CPU, 8);
            e = assertThrows(TensorOpException.class, () -> Norms.rmsNorm(x, wb, 1e-6));
            assertTrue(e.getMessage().startsWith("rmsNorm") && e.getMessage().contains("dtype"), e.getMessage());
            Tensor xi = Tensor.zeros(DType.I32, Device.CPU, 4, 8);
            Tensor wi = Tensor.zeros(DType.I32, Device.CPU, 8);
            e = assertThrows(TensorOpException.class, () -> Norms.rmsNorm(xi, wi, 1e-6));
            assertTrue(e.getMessage().contains("floating"), e.getMessage());
        }
    }

    static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}
