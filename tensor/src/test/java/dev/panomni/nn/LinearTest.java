package dev.panomni.nn;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Linear's parameters, PyTorch-style initialization and forward wiring (Linalg.linear has its own tests). */
class LinearTest {
    @Test
    void uniformInitWithinPyTorchBoundsAndForwardIsXWtPlusB() {
        try (Linear lin = new Linear(9, 5, true, new Generator(3)); Scope s = Scope.open("t")) {
            assertEquals(List.of("weight", "bias"), List.copyOf(lin.namedParameters().keySet()));
            assertArrayEquals(new long[] {5, 9}, lin.weight().shape());
            assertArrayEquals(new long[] {5}, lin.bias().shape());
            float[] w = lin.weight().toFloatArray();
            float[] b = lin.bias().toFloatArray();
            double bound = 1 / Math.sqrt(9);
            double maxAbs = 0;
            for (float x : w) {
                assertTrue(Math.abs(x) <= bound);
                maxAbs = Math.max(maxAbs, Math.abs(x));
            }
            assertTrue(maxAbs > 0.8 * bound, "draws fill the range");
            for (float x : b) {
                assertTrue(Math.abs(x) <= bound);
            }
            float[] xv = new float[3 * 9];
            for (int i = 0; i < xv.length; i++) {
                xv[i] = (float) Math.sin(i);
            }
            Tensor x = Tensor.of(xv, 3, 9).requiresGrad(true);
            Tensor y = lin.forward(x);
            assertArrayEquals(new long[] {3, 5}, y.shape());
            float[] yv = y.toFloatArray();
            for (int r = 0; r < 3; r++) {
                for (int o = 0; o < 5; o++) {
                    double acc = b[o];
                    for (int i = 0; i < 9; i++) {
                        acc += xv[r * 9 + i] * w[o * 9 + i];
                    }
                    assertEquals(acc, yv[r * 5 + o], 1e-5);
                }
            }
            y.backward(Tensor.ones(3, 5));
            assertNotNull(lin.weight().grad());
            assertArrayEquals(new float[] {3, 3, 3, 3, 3}, lin.bias().grad().toFloatArray(), 1e-6f);
        }
    }

    @Test
    void explicitStdInitAndNoBias() {
        try (Linear lin = new Linear(64, 32, false, new Generator(4), 0.02)) {
            assertNull(lin.bias());
            assertEquals(List.of("weight"), List.copyOf(lin.namedParameters().keySet()));
            float[] w = lin.weight().toFloatArray();
            double ss = 0;
            for (float x : w) {
                ss += x * x;
            }
            assertEquals(0.02, Math.sqrt(ss / w.length), 0.002);
        }
        try (Linear lin = new Linear(4, 3, true, new Generator(4), 0.02)) {
            assertArrayEquals(new float[3], lin.bias().toFloatArray());
        }
    }
}
