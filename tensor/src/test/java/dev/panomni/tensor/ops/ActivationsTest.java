package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ActivationsTest {
    static double[] swigluRef(double[] g, double[] u) {
        double[] o = new double[g.length];
        for (int i = 0; i < g.length; i++) {
            o[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
        }
        return o;
    }

    @Test
    void swigluMatchesReferenceAndFiniteDifferences() {
        int seed = 1;
        for (long[] shape : new long[][] {{3, 37}, {2, 2, 16}, {5}, {1, 1}}) {
            GradCheck.check("swiglu", t -> Activations.swiglu(t[0], t[1]), in -> swigluRef(in[0], in[1]),
                    new long[][] {shape, shape}, seed++);
        }
        // Wider range for the gate: the sigmoid's tails.
        Random rng = new Random(4);
        float[] g = GradCheck.random(rng, 40);
        for (int i = 0; i < g.length; i++) {
            g[i] *= 8;
        }
        float[] u = GradCheck.random(rng, 40);
        GradCheck.check("swiglu wide", t -> Activations.swiglu(t[0], t[1]), in -> swigluRef(in[0], in[1]),
                new long[][] {{40}, {40}}, new float[][] {g, u}, new boolean[] {true, true}, 1e-5, 1e-3, 5);
    }

    @Test
    void extremeGatesStayFinite() {
        try (Scope s = Scope.open()) {
            float[] gv = {-1000f, -90f, -30f, 0f, 30f, 90f, 1000f, -1000f, -90f, -30f, 0f, 30f, 90f, 1000f, 1f, 2f, 3f};
            Tensor gate = Tensor.of(gv, gv.length).requiresGrad(true);
            Tensor up = Tensor.ones(gv.length).requiresGrad(true);
            Tensor out = Activations.swiglu(gate, up);
            out.backward(Tensor.ones(gv.length));
            float[] o = out.toFloatArray();
            float[] dg = gate.grad().toFloatArray();
            for (int i = 0; i < gv.length; i++) {
                double ref = gv[i] / (1 + Math.exp(-gv[i]));
                assertEquals(ref, o[i], 1e-5 * Math.max(1, Math.abs(ref)), "out " + i);
                assertTrue(Float.isFinite(dg[i]), "dgate " + i + " = " + dg[i]);
            }
        }
    }

    @Test
    void bf16InputsAndStridedViews() {
        try (Scope s = Scope.open()) {
            Random rng = new Random(9);
            // gate and up as the two halves of one fused projection [4, 2 * 21]
            Tensor both = Tensor.of(GradCheck.random(rng, 4 * 42), 4, 42).to(DType.BF16).requiresGrad(true);
            Tensor gate = both.narrow(1, 0, 21);
            Tensor up = both.narrow(1, 21, 21);
            Tensor out = Activations.swiglu(gate, up);
            assertEquals(DType.BF16, out.dtype());
            float[] b = both.toFloatArray();
            double[] gd = new double[84];
            double[] ud = new double[84];
            for (int r = 0; r < 4; r++) {
                for (int c = 0; c < 21; c++) {
                    gd[r * 21 + c] = b[r * 42 + c];
                    ud[r * 21 + c] = b[r * 42 + 21 + c];
                }
            }
            assertTrue(GradCheck.relError(out.toFloatArray(), swigluRef(gd, ud)) < 4e-3);
            out.backward(Tensor.ones(4, 21).to(DType.BF16));
            float[] g = both.grad().toFloatArray();
            for (int r = 0; r < 4; r++) {
                for (int c = 0; c < 21; c++) {
                    double x = gd[r * 21 + c];
                    double sg = 1 / (1 + Math.exp(-x));
                    assertEquals(ud[r * 21 + c] * sg * (1 + x * (1 - sg)), g[r * 42 + c], 1e-2);
                    assertEquals(x * sg, g[r * 42 + 21 + c], 1e-2);
                }
            }
        }
    }

    @Test
    void badInputsNameTheOpAndShapes() {
        try (Scope s = Scope.open()) {
            TensorOpException e = assertThrows(TensorOpException.class,
                    () -> Activations.swiglu(Tensor.zeros(2, 3), Tensor.zeros(3)));
            assertTrue(e.getMessage().startsWith("swiglu") && e.getMessage().contains("[2, 3]")
                    && e.getMessage().contains("[3]"), e.getMessage());
            e = assertThrows(TensorOpException.class,
                    () -> Activations.swiglu(Tensor.zeros(2, 3), Tensor.zeros(2, 3).to(DType.BF16)));
            assertTrue(e.getMessage().startsWith("swiglu") && e.getMessage().contains("dtype"), e.getMessage());
        }
    }
}
