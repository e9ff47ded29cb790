package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The chunked LM head + cross-entropy against the unfused reference (linear, then mean
 * cross-entropy over the whole logits): loss and both gradients, for chunk sizes that divide the
 * tokens, leave a short last chunk, or take everything at once, with ignored labels.
 */
class LinearCrossEntropyTest {
    private static final long IGNORE = Losses.DEFAULT_IGNORE_INDEX;

    private static long[] labels(int t, int v, long seed) {
        Random rng = new Random(seed);
        long[] y = new long[t];
        for (int i = 0; i < t; i++) {
            y[i] = i % 4 == 2 ? IGNORE : rng.nextInt(v);
        }
        return y;
    }

    private static double maxRelative(Tensor a, Tensor b) {
        float[] x = a.toFloatArray();
        float[] y = b.toFloatArray();
        double scale = 0;
        double worst = 0;
        for (int i = 0; i < y.length; i++) {
            scale = Math.max(scale, Math.abs(y[i]));
            worst = Math.max(worst, Math.abs(x[i] - y[i]));
        }
        return worst / Math.max(scale, 1e-30);
    }

    @Test
    void matchesTheUnfusedLossAndGradientsForEveryChunking() {
        int t = 23;
        int d = 16;
        int v = 37;
        long[] y = labels(t, v, 3);
        for (int chunk : new int[] {1, 5, 23, 64}) {
            try (Scope s = Scope.open("lce")) {
                Tensor h1 = new Generator(11).normal(new long[] {t, d}, 0, 1).requiresGrad(true);
                Tensor w1 = new Generator(12).normal(new long[] {v, d}, 0, 0.3).requiresGrad(true);
                Tensor h2 = new Generator(11).normal(new long[] {t, d}, 0, 1).requiresGrad(true);
                Tensor w2 = new Generator(12).normal(new long[] {v, d}, 0, 0.3).requiresGrad(true);
                Tensor lab = Tensor.ofLongs(y, t);

                Tensor fused = LinearCrossEntropy.loss(h1, w1, lab, IGNORE, chunk);
                Arith.mulScalar(fused, 2.5).backward();
                Tensor ref = Losses.crossEntropy(Linalg.linear(h2, w2, null), lab, IGNORE, Reduction.MEAN);
                Arith.mulScalar(ref, 2.5).backward();

                assertEquals(ref.item(), fused.item(), 1e-5 * Math.abs(ref.item()), "loss, chunk " + chunk);
                assertTrue(maxRelative(h1.grad(), h2.grad()) < 1e-5, "dHidden, chunk " + chunk);
                assertTrue(maxRelative(w1.grad(), w2.grad()) < 1e-5, "dWeight, chunk " + chunk);
                // A wrong upstream scale or a dropped chunk moves the gradients far beyond that.
                assertTrue(h1.grad().toFloatArray()[0] != 0f || h1.grad().toFloatArray()[1] != 0f);
            }
        }
    }

    @Test
    void bf16OperandsGiveTheF32ResultOfTheRoundedValues() {
        int t = 19;
        int d = 24;
        int v = 41;
        long[] y = labels(t, v, 5);
        try (Scope s = Scope.open("lceBf16")) {
            Generator g = new Generator(7);
            Tensor h = Layout.cast(g.normal(new long[] {t, d}, 0, 1), DType.BF16).detach().requiresGrad(true);
            Tensor w = Layout.cast(g.normal(new long[] {v, d}, 0, 0.3), DType.BF16).detach().requiresGrad(true);
            Tensor h32 = dev.panomni.tensor.autograd.GradMode.noGrad(() -> Layout.cast(h, DType.F32)).requiresGrad(true);
            Tensor w32 = dev.panomni.tensor.autograd.GradMode.noGrad(() -> Layout.cast(w, DType.F32)).requiresGrad(true);
            Tensor lab = Tensor.ofLongs(y, t);
            Tensor loss = LinearCrossEntropy.loss(h, w, lab, IGNORE, 4);
            loss.backward();
            Tensor ref = LinearCrossEntropy.loss(h32, w32, lab, IGNORE, 4);
            ref.backward();
            assertEquals(DType.F32, loss.dtype());
            assertEquals(ref.item(), loss.item(), 1e-6 * Math.abs(ref.item()));
            assertEquals(DType.BF16, h.grad().dtype());
            assertEquals(DType.BF16, w.grad().dtype());
            // Only the final rounding of the gradients to bf16 differs.
            assertTrue(maxRelative(Layout.cast(h.grad(), DType.F32), h32.grad()) < 1e-2);
            assertTrue(maxRelative(Layout.cast(w.grad(), DType.F32), w32.grad()) < 1e-2);
        }
    }

    @Test
    void everyLabelIgnoredGivesZeroLossAndGradients() {
        try (Scope s = Scope.open("lceIgnored")) {
            Generator g = new Generator(2);
            Tensor h = g.normal(new long[] {6, 8}, 0, 1).requiresGrad(true);
            Tensor w = g.normal(new long[] {10, 8}, 0, 1).requiresGrad(true);
            long[] y = new long[6];
            java.util.Arrays.fill(y, IGNORE);
            Tensor loss = LinearCrossEntropy.loss(h, w, Tensor.ofLongs(y, 6), IGNORE, 4);
            loss.backward();
            assertEquals(0.0, loss.item());
            for (float x : h.grad().toFloatArray()) {
                assertEquals(0f, x);
            }
            for (float x : w.grad().toFloatArray()) {
                assertEquals(0f, x);
            }
        }
    }

    @Test
    void badLabelsAndShapesNameTheProblem() {
        try (Scope s = Scope.open("lceBad")) {
            Tensor h = Tensor.zeros(DType.F32, dev.panomni.tensor.Device.CPU, 3, 4);
            Tensor w = Tensor.zeros(DType.F32, dev.panomni.tensor.Device.CPU, 5, 4);
            TensorOpException bad = assertThrows(TensorOpException.class,
                    () -> LinearCrossEntropy.loss(h, w, Tensor.ofLongs(new long[] {1, 7, 0}, 3), IGNORE, 2));
            assertTrue(bad.getMessage().contains("label 7 at position 1"), bad.getMessage());
            TensorOpException shape = assertThrows(TensorOpException.class,
                    () -> LinearCrossEntropy.loss(h, Tensor.zeros(DType.F32, dev.panomni.tensor.Device.CPU, 5, 3),
                            Tensor.ofLongs(new long[] {1, 2, 0}, 3), IGNORE, 2));
            assertTrue(shape.getMessage().contains("weight [5, 3]"), shape.getMessage());
            TensorOpException chunk = assertThrows(TensorOpException.class,
                    () -> LinearCrossEntropy.loss(h, w, Tensor.ofLongs(new long[] {1, 2, 0}, 3), IGNORE, 0));
            assertTrue(chunk.getMessage().contains("chunk must be >= 1"), chunk.getMessage());
        }
    }
}
