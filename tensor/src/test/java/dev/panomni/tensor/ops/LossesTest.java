package dev.panomni.tensor.ops;

import dev.panomni.tensor.BFloat16;
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
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LossesTest {
    private static final long IGNORE = Losses.DEFAULT_IGNORE_INDEX;

    /** Naive float64 cross-entropy of logits [n, c] (row-major) against targets. */
    static double naive(double[] x, long[] targets, int c, long ignore, Reduction reduction) {
        double total = 0;
        int counted = 0;
        for (int r = 0; r < targets.length; r++) {
            if (targets[r] == ignore) {
                continue;
            }
            double sum = 0;
            for (int j = 0; j < c; j++) {
                sum += Math.exp(x[r * c + j]);
            }
            total += Math.log(sum) - x[r * c + (int) targets[r]];
            counted++;
        }
        return reduction == Reduction.SUM ? total : counted == 0 ? 0 : total / counted;
    }

    static long[] randomTargets(Random rng, int n, int c, long ignore, int ignoredEvery) {
        long[] t = new long[n];
        for (int i = 0; i < n; i++) {
            t[i] = ignoredEvery > 0 && i % ignoredEvery == 1 ? ignore : rng.nextInt(c);
        }
        return t;
    }

    private static float[] scaled(float[] v, float s) {
        float[] out = v.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] *= s;
        }
        return out;
    }

    @Test
    void matchesReferenceAndFiniteDifferencesForBothReductionsAndIndexTypes() {
        int n = 13;
        int c = 37;
        Random rng = new Random(11);
        long[] targets = randomTargets(rng, n, c, IGNORE, 4);
        int seed = 50;
        for (Reduction reduction : Reduction.values()) {
            for (DType indexType : new DType[] {DType.I64, DType.I32}) {
                float[] logits = scaled(GradCheck.random(rng, (long) n * c), 4f);
                String what = "crossEntropy " + reduction + " " + indexType;
                GradCheck.check(what, t -> {
                    Tensor tg = Tensor.ofLongs(targets, n).to(indexType);
                    Tensor loss = Losses.crossEntropy(t[0], tg, IGNORE, reduction);
                    assertEquals(0, loss.rank());
                    return loss;
                }, in -> new double[] {naive(in[0], targets, c, IGNORE, reduction)}, new long[][] {{n, c}},
                        new float[][] {logits}, new boolean[] {true}, 1e-6, 1e-4, seed++);
            }
        }
    }

    @Test
    void batchedLogitsAreFlattened() {
        int b = 3;
        int s = 5;
        int c = 11;
        Random rng = new Random(12);
        long[] targets = randomTargets(rng, b * s, c, IGNORE, 3);
        float[] logits = scaled(GradCheck.random(rng, (long) b * s * c), 3f);
        GradCheck.check("crossEntropy [B, S, C]", t -> Losses.crossEntropy(t[0], Tensor.ofLongs(targets, b, s)),
                in -> new double[] {naive(in[0], targets, c, IGNORE, Reduction.MEAN)}, new long[][] {{b, s, c}},
                new float[][] {logits}, new boolean[] {true}, 1e-6, 1e-4, 13);
        // Non-contiguous logits (a transposed view) are read in their logical order.
        try (Scope sc = Scope.open()) {
            Tensor x = Tensor.of(logits, s, b, c).transpose(0, 1);
            Tensor contiguous = x.contiguous();
            Tensor tg = Tensor.ofLongs(targets, b, s);
            assertEquals(Losses.crossEntropy(contiguous, tg).item(), Losses.crossEntropy(x, tg).item(), 0f);
        }
    }

    @Test
    void ignoreIndexInsideTheClassRangeAndAllIgnored() {
        try (Scope s = Scope.open()) {
            Random rng = new Random(14);
            float[] v = GradCheck.random(rng, 4 * 6);
            double[] dv = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                dv[i] = v[i];
            }
            long[] targets = {0, 3, 0, 5};
            Tensor loss = Losses.crossEntropy(Tensor.of(v, 4, 6), Tensor.ofLongs(targets, 4), 0, Reduction.MEAN);
            assertEquals(naive(dv, targets, 6, 0, Reduction.MEAN), loss.item(), 1e-6);

            // Every target ignored: the mean is 0 (not 0/0) and so is every gradient.
            for (Reduction reduction : Reduction.values()) {
                Tensor x = Tensor.of(v, 4, 6).requiresGrad(true);
                Tensor all = Losses.crossEntropy(x, Tensor.ofLongs(new long[] {IGNORE, IGNORE, IGNORE, IGNORE}, 4),
                        IGNORE, reduction);
                assertEquals(0f, all.item(), 0f, reduction.name());
                all.backward();
                assertArrayEquals(new float[24], x.grad().toFloatArray(), reduction.name());
            }
            // No rows at all.
            Tensor none = Losses.crossEntropy(Tensor.zeros(0, 6), Tensor.ofLongs(new long[0], 0));
            assertEquals(0f, none.item(), 0f);
        }
    }

    @Test
    void gradientIsSoftmaxMinusOneHotScaledByUpstreamAndCount() {
        try (Scope s = Scope.open()) {
            float[] v = {1, 2, 3, /* */ 0, 0, 0, /* */ -1, 5, 2};
            Tensor x = Tensor.of(v, 3, 3).requiresGrad(true);
            Tensor loss = Losses.crossEntropy(x, Tensor.ofLongs(new long[] {2, IGNORE, 0}, 3));
            Arith.mulScalar(loss, 3).backward();
            float[] g = x.grad().toFloatArray();
            for (int r : new int[] {0, 2}) {
                double sum = 0;
                for (int j = 0; j < 3; j++) {
                    sum += Math.exp(v[r * 3 + j]);
                }
                int target = r == 0 ? 2 : 0;
                for (int j = 0; j < 3; j++) {
                    double p = Math.exp(v[r * 3 + j]) / sum - (j == target ? 1 : 0);
                    assertEquals(p * 3 / 2, g[r * 3 + j], 1e-6, "row " + r + " class " + j);
                }
            }
            assertArrayEquals(new float[3], java.util.Arrays.copyOfRange(g, 3, 6), "ignored row");
        }
    }

    @Test
    void largeLogitsStayFinite() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1e4f, 0f, -1e4f, 2e4f, 2e4f, 2e4f}, 2, 3).requiresGrad(true);
            Tensor loss = Losses.crossEntropy(x, Tensor.ofLongs(new long[] {1, 2}, 2), IGNORE, Reduction.SUM);
            assertEquals(1e4 + Math.log(3), loss.item(), 1e-2);
            loss.backward();
            float[] g = x.grad().toFloatArray();
            assertArrayEquals(new float[] {1, -1, 0}, java.util.Arrays.copyOf(g, 3), 1e-6f);
            for (float gi : g) {
                assertTrue(Float.isFinite(gi));
            }
        }
    }

    @Test
    void fusedKernelMatchesForwardAndBackwardAndWorksInPlace() {
        try (Scope s = Scope.open()) {
            int n = 9;
            int c = 53;
            Random rng = new Random(15);
            long[] targets = randomTargets(rng, n, c, IGNORE, 4);
            Tensor x = Tensor.of(scaled(GradCheck.random(rng, (long) n * c), 5f), n, c);
            Tensor tg = Tensor.ofInts(java.util.Arrays.stream(targets).mapToInt(t -> (int) t).toArray(), n);
            LossKernels k = x.backend().kernels(LossKernels.class);
            Tensor rowLoss = Tensor.empty(n);
            Tensor rowLse = Tensor.empty(n);
            k.crossEntropyForward(x, tg, IGNORE, rowLoss, rowLse);
            Tensor grad = Tensor.empty(n, c);
            k.crossEntropyBackward(x, tg, IGNORE, rowLse, Tensor.scalar(1), 0.25, grad);

            Tensor fusedLoss = Tensor.empty(n);
            Tensor fusedGrad = Tensor.empty(n, c);
            k.crossEntropyFused(x, tg, IGNORE, 0.25, fusedLoss, fusedGrad);
            assertArrayEquals(rowLoss.toFloatArray(), fusedLoss.toFloatArray(), 1e-6f);
            assertArrayEquals(grad.toFloatArray(), fusedGrad.toFloatArray(), 1e-7f);

            Tensor inPlace = Layout.copy(x);
            Tensor inPlaceLoss = Tensor.empty(n);
            k.crossEntropyFused(inPlace, tg, IGNORE, 0.25, inPlaceLoss, inPlace);
            assertArrayEquals(fusedLoss.toFloatArray(), inPlaceLoss.toFloatArray(), 0f);
            assertArrayEquals(fusedGrad.toFloatArray(), inPlace.toFloatArray(), 0f);
            for (int r = 0; r < n; r++) {
                if (targets[r] == IGNORE) {
                    assertEquals(0f, fusedLoss.toFloatArray()[r]);
                }
            }
        }
    }

    @Test
    void bf16LogitsComputeInF32AndRoundOnce() {
        try (Scope s = Scope.open()) {
            Random rng = new Random(16);
            long[] targets = randomTargets(rng, 7, 19, IGNORE, 3);
            Tensor x = Tensor.of(scaled(GradCheck.random(rng, 7 * 19), 3f), 7, 19).to(DType.BF16).requiresGrad(true);
            Tensor xf = x.detach().to(DType.F32).requiresGrad(true);
            Tensor loss = Losses.crossEntropy(x, Tensor.ofLongs(targets, 7));
            Tensor lossF = Losses.crossEntropy(xf, Tensor.ofLongs(targets, 7));
            assertEquals(DType.BF16, loss.dtype());
            assertEquals(BFloat16.toFloat(BFloat16.fromFloat(lossF.item())), loss.item(), 0f);
            loss.backward();
            lossF.backward();
            assertEquals(DType.BF16, x.grad().dtype());
            assertTrue(GradCheck.relError(x.grad().toFloatArray(), xf.grad().toFloatArray()) < 1e-2);
        }
    }

    @Test
    void outOfRangeTargetsNameTheValueAndPosition() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(2, 3, 5);
            Tensor bad = Tensor.ofLongs(new long[] {0, 1, 2, 3, 4, 7}, 2, 3);
            TensorOpException e = assertThrows(TensorOpException.class, () -> Losses.crossEntropy(x, bad));
            String m = e.getMessage();
            assertTrue(m.startsWith("crossEntropy:") && m.contains("target 7") && m.contains("[1, 2]")
                    && m.contains("5 classes") && m.contains("[2, 3, 5]") && m.contains("[2, 3]"), m);

            Tensor negative = Tensor.ofInts(new int[] {0, -1}, 2);
            e = assertThrows(TensorOpException.class,
                    () -> Losses.crossEntropy(Tensor.zeros(2, 4), negative, IGNORE, Reduction.SUM));
            m = e.getMessage();
            assertTrue(m.contains("target -1") && m.contains("position [1]") && m.contains("-100"), m);
        }
    }

    @Test
    void badShapesAndDtypesNameTheOpAndShapes() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(3, 5);
            TensorOpException e = assertThrows(TensorOpException.class,
                    () -> Losses.crossEntropy(x, Tensor.zeros(3)));
            assertTrue(e.getMessage().startsWith("crossEntropy:") && e.getMessage().contains("targets")
                    && e.getMessage().contains("F32") && e.getMessage().contains("[3]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Losses.crossEntropy(x, Tensor.ofLongs(new long[4], 4)));
            assertTrue(e.getMessage().startsWith("crossEntropy:") && e.getMessage().contains("[3, 5]")
                    && e.getMessage().contains("[4]"), e.getMessage());
            e = assertThrows(TensorOpException.class,
                    () -> Losses.crossEntropy(Tensor.zeros(5), Tensor.ofLongs(new long[1], 1)));
            assertTrue(e.getMessage().contains("[5]") && e.getMessage().contains("[1]"), e.getMessage());
            e = assertThrows(TensorOpException.class,
                    () -> Losses.crossEntropy(Tensor.zeros(2, 3, 5), Tensor.ofLongs(new long[6], 3, 2)));
            assertTrue(e.getMessage().contains("[2, 3, 5]") && e.getMessage().contains("[3, 2]"), e.getMessage());
            Tensor ids = Tensor.ofLongs(new long[] {1, 2, 3}, 3);
            e = assertThrows(TensorOpException.class,
                    () -> Losses.crossEntropy(Tensor.zeros(DType.I32, Device.CPU, 3, 5), ids));
            assertTrue(e.getMessage().contains("logits") && e.getMessage().contains("I32"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Losses.crossEntropy(x, ids, IGNORE, null));
            assertTrue(e.getMessage().startsWith("crossEntropy:") && e.getMessage().contains("reduction"), e.getMessage());
        }
    }
}
