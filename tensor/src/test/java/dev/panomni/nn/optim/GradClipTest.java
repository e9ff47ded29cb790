package dev.panomni.nn.optim;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.panomni.nn.optim.AdamWTest.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GradClipTest {
    static double norm(float[]... gs) {
        double s = 0;
        for (float[] g : gs) {
            for (float x : g) {
                s += (double) x * x;
            }
        }
        return Math.sqrt(s);
    }

    @Test
    void clipsToMaxNormAndReturnsTheNormBefore() {
        Random rng = new Random(1);
        try (Scope s = Scope.open("t")) {
            // 10007 elements: several blocks plus a tail; a parameter without grad is skipped.
            float[] g1 = random(rng, 10007, 1);
            float[] g2 = random(rng, 13, 3);
            Tensor p1 = Tensor.zeros(10007).requiresGrad(true);
            Tensor p2 = Tensor.zeros(13).requiresGrad(true);
            Tensor p3 = Tensor.zeros(5).requiresGrad(true);
            p1.setGrad(Tensor.of(g1, 10007));
            p2.setGrad(Tensor.of(g2, 13));
            double expected = norm(g1, g2);
            double got = GradClip.clipGradNorm(List.of(p1, p2, p3), 1.0);
            assertEquals(expected, got, 1e-5 * expected);
            double coef = 1.0 / (expected + 1e-6);
            float[] c1 = p1.grad().toFloatArray();
            for (int i = 0; i < g1.length; i++) {
                assertEquals(g1[i] * coef, c1[i], 1e-6);
            }
            assertEquals(1.0, norm(c1, p2.grad().toFloatArray()), 1e-5);
            // Below the limit nothing changes.
            float[] before = p2.grad().toFloatArray();
            double n2 = GradClip.clipGradNorm(List.of(p2), 100.0);
            assertEquals(norm(before), n2, 1e-5 * n2);
            assertArrayEquals(before, p2.grad().toFloatArray());
        }
    }

    @Test
    void tensorVariantStaysOnTheDeviceAsAScalar() {
        try (Scope s = Scope.open("t")) {
            Tensor p = Tensor.zeros(2).requiresGrad(true);
            p.setGrad(Tensor.of(new float[] {3, 4}, 2));
            Tensor n = GradClip.clipGradNormTensor(List.of(p), 2.5);
            assertEquals(0, n.rank());
            assertEquals(DType.F32, n.dtype());
            assertEquals(5.0f, n.item(), 0f);
            assertArrayEquals(new float[] {1.5f, 2.0f}, p.grad().toFloatArray(), 1e-5f);
            assertEquals(0f, GradClip.totalNorm(List.of(Tensor.zeros(1).requiresGrad(true))).item());
        }
    }

    @Test
    void nonFiniteNormIsReportedAndGradientsAreLeftAlone() {
        try (Scope s = Scope.open("t")) {
            Tensor a = Tensor.zeros(3).requiresGrad(true);
            Tensor b = Tensor.zeros(2).requiresGrad(true);
            a.setGrad(Tensor.of(new float[] {1, 2, 3}, 3));
            b.setGrad(Tensor.of(new float[] {Float.NaN, 1}, 2));
            double n = GradClip.clipGradNorm(List.of(a, b), 0.1);
            assertTrue(Double.isNaN(n));
            assertArrayEquals(new float[] {1, 2, 3}, a.grad().toFloatArray());
            Map<String, Tensor> named = new LinkedHashMap<>();
            named.put("a", a);
            named.put("b", b);
            assertEquals(List.of("b"), GradClip.nonFiniteGradients(named));
            b.setGrad(Tensor.of(new float[] {Float.POSITIVE_INFINITY, 1}, 2));
            assertTrue(Double.isInfinite(GradClip.clipGradNorm(List.of(a, b), 0.1)));
            assertArrayEquals(new float[] {1, 2, 3}, a.grad().toFloatArray());
        }
    }

    @Test
    void bf16GradientsAreClippedInPlace() {
        Random rng = new Random(2);
        try (Scope s = Scope.open("t")) {
            float[] g = random(rng, 33, 4);
            Tensor p = Tensor.zeros(DType.BF16, Device.CPU, 33).requiresGrad(true);
            p.setGrad(Tensor.of(g, 33).to(DType.BF16));
            float[] rounded = p.grad().toFloatArray();
            double expected = norm(rounded);
            double got = GradClip.clipGradNorm(List.of(p), 1.0);
            assertEquals(expected, got, 1e-5 * expected);
            assertEquals(DType.BF16, p.grad().dtype());
            assertEquals(1.0, norm(p.grad().toFloatArray()), 0.01);
        }
    }
}
