package dev.panomni.nn.optim;

import dev.panomni.nn.StateDictException;
import dev.panomni.tensor.BFloat16;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdamWTest {
    /** Float64 AdamW state of one tensor, the reference. */
    static final class Ref {
        final double[] p;
        final double[] m;
        final double[] v;
        long t;

        Ref(float[] init) {
            p = new double[init.length];
            for (int i = 0; i < init.length; i++) {
                p[i] = init[i];
            }
            m = new double[init.length];
            v = new double[init.length];
        }

        void step(float[] g, double lr, double b1, double b2, double eps, double wd) {
            t++;
            double bc1 = 1 - Math.pow(b1, t);
            double bc2 = 1 - Math.pow(b2, t);
            for (int i = 0; i < p.length; i++) {
                p[i] *= 1 - lr * wd;
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                p[i] -= lr / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + eps);
            }
        }
    }

    static float[] random(Random rng, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((rng.nextDouble() * 2 - 1) * scale);
        }
        return v;
    }

    static void assertClose(double[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol * Math.max(1, Math.abs(expected[i])), what + " element " + i);
        }
    }

    @Test
    void twoStepsMatchFloat64ReferenceWithGroupsAndSkippedParameters() {
        Random rng = new Random(7);
        try (Scope s = Scope.open("t")) {
            // 37 and 300 elements: vector bodies plus scalar tails.
            float[] w0 = random(rng, 300, 1);
            float[] b0 = random(rng, 37, 1);
            Tensor w = Tensor.of(w0, 20, 15).requiresGrad(true);
            Tensor b = Tensor.of(b0, 37).requiresGrad(true);
            List<ParamGroup> groups = List.of(new ParamGroup("decay", Map.of("w", w), 0.01, 0.1),
                    new ParamGroup("no_decay", Map.of("b", b), 0.03, 0.0));
            double b1 = 0.8;
            double b2 = 0.95;
            double eps = 1e-6;
            Ref rw = new Ref(w0);
            Ref rb = new Ref(b0);
            try (AdamW opt = new AdamW(groups, b1, b2, eps)) {
                // Step 1: only w has a gradient; b is skipped and its count stays 0.
                float[] gw = random(rng, 300, 0.5);
                w.setGrad(Tensor.of(gw, 20, 15));
                opt.step();
                rw.step(gw, 0.01, b1, b2, eps, 0.1);
                assertArrayEquals(b0, b.toFloatArray());
                assertTrue(opt.stateOf("b").isEmpty());
                // Step 2: both, with a multiplier of 0.5 from a schedule.
                opt.setLrMultiplier(0.5);
                gw = random(rng, 300, 0.5);
                float[] gb = random(rng, 37, 2);
                w.setGrad(Tensor.of(gw, 20, 15));
                b.setGrad(Tensor.of(gb, 37));
                opt.step();
                rw.step(gw, 0.005, b1, b2, eps, 0.1);
                rb.step(gb, 0.015, b1, b2, eps, 0.0);
                assertClose(rw.p, w.toFloatArray(), 2e-6, "w");
                assertClose(rb.p, b.toFloatArray(), 2e-6, "b (bias-corrected as its first step)");
                assertClose(rw.m, opt.stateOf("w").get(AdamW.EXP_AVG).toFloatArray(), 1e-6, "exp_avg");
                assertClose(rw.v, opt.stateOf("w").get(AdamW.EXP_AVG_SQ).toFloatArray(), 1e-6, "exp_avg_sq");
                assertEquals(2, opt.stepCount());
                assertEquals(2, opt.stateDict().get("w.step").toLongArray()[0]);
                assertEquals(1, opt.stateDict().get("b.step").toLongArray()[0]);
                opt.zeroGrad();
                assertEquals(null, w.grad());
            }
        }
    }

    @Test
    void stateDictRoundTripResumesIdentically() {
        Random rng = new Random(3);
        try (Scope s = Scope.open("t")) {
            float[] init = random(rng, 45, 1);
            float[][] grads = {random(rng, 45, 1), random(rng, 45, 1), random(rng, 45, 1)};
            Tensor pa = Tensor.of(init, 9, 5).requiresGrad(true);
            Tensor pb = Tensor.of(init, 9, 5).requiresGrad(true);
            try (AdamW a = new AdamW(Map.of("layer.weight", pa), 0.01, 0.05);
                 AdamW b = new AdamW(Map.of("layer.weight", pb), 0.01, 0.05)) {
                for (int i = 0; i < 2; i++) {
                    pa.setGrad(Tensor.of(grads[i], 9, 5));
                    a.step();
                }
                Map<String, Tensor> sd = a.stateDict();
                assertEquals(List.of("step", "layer.weight.exp_avg", "layer.weight.exp_avg_sq", "layer.weight.step"),
                        List.copyOf(sd.keySet()));
                // Resume: copy the parameter values (the model checkpoint) and the optimizer state.
                dev.panomni.tensor.ops.Layout.copyInto(pa, pb);
                b.loadStateDict(sd);
                assertEquals(2, b.stepCount());
                pa.setGrad(Tensor.of(grads[2], 9, 5));
                pb.setGrad(Tensor.of(grads[2], 9, 5));
                a.step();
                b.step();
                assertArrayEquals(pa.toFloatArray(), pb.toFloatArray());
            }
        }
    }

    @Test
    void loadStateDictReportsProblems() {
        try (Scope s = Scope.open("t")) {
            Tensor p = Tensor.zeros(3, 4).requiresGrad(true);
            try (AdamW opt = new AdamW(Map.of("w", p), 0.01, 0.0)) {
                Map<String, Tensor> sd = new LinkedHashMap<>();
                sd.put("step", Tensor.ofLongs(new long[] {5}));
                sd.put("w.exp_avg", Tensor.zeros(4, 3));
                sd.put("w.step", Tensor.ofLongs(new long[] {5}));
                sd.put("v.exp_avg", Tensor.zeros(1));
                StateDictException e = assertThrows(StateDictException.class, () -> opt.loadStateDict(sd));
                String msg = e.getMessage();
                assertTrue(msg.contains("AdamW"), msg);
                assertTrue(msg.contains("missing keys (1): w.exp_avg_sq"), msg);
                assertTrue(msg.contains("unexpected keys (1): v.exp_avg"), msg);
                assertTrue(msg.contains("w.exp_avg: checkpoint shape [4, 3], parameter shape [3, 4]"), msg);
                assertEquals(0, opt.stepCount(), "a failed load changes nothing");
                assertTrue(opt.stateOf("w").isEmpty());
            }
        }
    }

    @Test
    void bf16ParametersUpdateAnFp32Master() {
        Random rng = new Random(11);
        try (Scope s = Scope.open("t")) {
            float[] init = random(rng, 70, 1);
            Tensor p = Tensor.of(init, 70).to(DType.BF16).requiresGrad(true);
            Ref ref = new Ref(p.toFloatArray());
            try (AdamW opt = new AdamW(List.of(ParamGroup.of(Map.of("p", p), 1e-3, 0.01)), 0.9, 0.999, 1e-8)) {
                for (int step = 0; step < 3; step++) {
                    float[] g = random(rng, 70, 1);
                    // Gradients of a BF16 parameter are BF16; the reference sees the same rounded values.
                    Tensor gt = Tensor.of(g, 70).to(DType.BF16);
                    p.setGrad(gt);
                    ref.step(gt.toFloatArray(), 1e-3, 0.9, 0.999, 1e-8, 0.01);
                    opt.step();
                }
                Tensor master = opt.stateOf("p").get(AbstractOptimizer.MASTER);
                assertEquals(DType.F32, master.dtype());
                assertEquals(DType.BF16, p.dtype());
                float[] mv = master.toFloatArray();
                assertClose(ref.p, mv, 2e-6, "master");
                float[] pv = p.toFloatArray();
                for (int i = 0; i < mv.length; i++) {
                    assertEquals(BFloat16.toFloat(BFloat16.fromFloat(mv[i])), pv[i], 0.0, "param is the rounded master");
                }
                // Updates far below bf16 resolution still accumulate in the master.
                float before = mv[0];
                opt.setLrMultiplier(1e-3);
                p.setGrad(Tensor.ones(DType.BF16, dev.panomni.tensor.Device.CPU, 70));
                opt.step();
                float after = opt.stateOf("p").get(AbstractOptimizer.MASTER).toFloatArray()[0];
                assertNotEquals(before, after);
                assertTrue(opt.stateDict().containsKey("p.master"));
            }
        }
    }

    @Test
    void usingAParameterReleasedByModuleConversionIsAClearError() {
        Tensor p;
        try (Scope s = Scope.open("t")) {
            p = Tensor.zeros(3).requiresGrad(true);
            AdamW opt = new AdamW(Map.of("w", p), 0.01, 0.0);
            p.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, opt::step);
            assertTrue(e.getMessage().contains("parameter 'w' was released"), e.getMessage());
            opt.close();
        }
    }
}
