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

class AttentionTest {
    /** Sizes of a packed problem: q [T, hq, d], k/v [T, hkv, d], documents starting at cu. */
    record Problem(int hq, int hkv, int d, int[] cu, boolean causal, double scale) {
        int t() {
            return cu[cu.length - 1];
        }

        double scaleOrDefault() {
            return Double.isNaN(scale) ? 1 / Math.sqrt(d) : scale;
        }

        /** Probabilities P[i][j] of query head h (rows and columns index the document's tokens). */
        double[][] probs(double[] q, double[] k, int h, int s, int e) {
            int kvh = h / (hq / hkv);
            int n = e - s;
            double[][] p = new double[n][n];
            for (int i = 0; i < n; i++) {
                double max = Double.NEGATIVE_INFINITY;
                int last = causal ? i : n - 1;
                for (int j = 0; j <= last; j++) {
                    double dot = 0;
                    for (int c = 0; c < d; c++) {
                        dot += q[((s + i) * hq + h) * d + c] * k[((s + j) * hkv + kvh) * d + c];
                    }
                    p[i][j] = dot * scaleOrDefault();
                    max = Math.max(max, p[i][j]);
                }
                double sum = 0;
                for (int j = 0; j <= last; j++) {
                    p[i][j] = Math.exp(p[i][j] - max);
                    sum += p[i][j];
                }
                for (int j = 0; j <= last; j++) {
                    p[i][j] /= sum;
                }
            }
            return p;
        }

        /** Naive softmax(q k^T * scale + mask) v per document and head, in float64. */
        double[] forward(double[] q, double[] k, double[] v) {
            double[] out = new double[t() * hq * d];
            int kvh;
            for (int doc = 0; doc + 1 < cu.length; doc++) {
                int s = cu[doc];
                int e = cu[doc + 1];
                for (int h = 0; h < hq; h++) {
                    kvh = h / (hq / hkv);
                    double[][] p = probs(q, k, h, s, e);
                    for (int i = 0; i < e - s; i++) {
                        for (int j = 0; j < e - s; j++) {
                            for (int c = 0; c < d; c++) {
                                out[((s + i) * hq + h) * d + c] += p[i][j] * v[((s + j) * hkv + kvh) * d + c];
                            }
                        }
                    }
                }
            }
            return out;
        }

        /** Naive float64 gradients {dq, dk, dv} given dout. */
        double[][] backward(double[] q, double[] k, double[] v, double[] dout) {
            double sc = scaleOrDefault();
            double[] dq = new double[q.length];
            double[] dk = new double[k.length];
            double[] dv = new double[v.length];
            for (int doc = 0; doc + 1 < cu.length; doc++) {
                int s = cu[doc];
                int e = cu[doc + 1];
                int n = e - s;
                for (int h = 0; h < hq; h++) {
                    int kvh = h / (hq / hkv);
                    double[][] p = probs(q, k, h, s, e);
                    for (int i = 0; i < n; i++) {
                        double[] dp = new double[n];
                        double rowDot = 0;
                        for (int j = 0; j < n; j++) {
                            for (int c = 0; c < d; c++) {
                                double g = dout[((s + i) * hq + h) * d + c];
                                dp[j] += g * v[((s + j) * hkv + kvh) * d + c];
                                dv[((s + j) * hkv + kvh) * d + c] += p[i][j] * g;
                            }
                            rowDot += p[i][j] * dp[j];
                        }
                        for (int j = 0; j < n; j++) {
                            double ds = p[i][j] * (dp[j] - rowDot) * sc;
                            for (int c = 0; c < d; c++) {
                                dq[((s + i) * hq + h) * d + c] += ds * k[((s + j) * hkv + kvh) * d + c];
                                dk[((s + j) * hkv + kvh) * d + c] += ds * q[((s + i) * hq + h) * d + c];
                            }
                        }
                    }
                }
            }
            return new double[][] {dq, dk, dv};
        }

        AttentionOptions options() {
            return new AttentionOptions(causal, scale, null);
        }

        Tensor cuSeqlens() {
            return Tensor.ofInts(cu, cu.length);
        }
    }

    private static Tensor packed(Tensor[] in, Problem p) {
        return Attention.sdpa(in[0], in[1], in[2], p.options().withCuSeqlens(p.cuSeqlens()));
    }

    private static long[][] shapes(Problem p) {
        return new long[][] {{p.t(), p.hq(), p.d()}, {p.t(), p.hkv(), p.d()}, {p.t(), p.hkv(), p.d()}};
    }

    @Test
    void threeOddDocumentsWithGroupedHeadsMatchReferenceAndFiniteDifferences() {
        // {causal, Hq, Hkv}: grouped heads both ways, plain multi-head, and one kv head for all.
        int[][] cases = {{1, 4, 2}, {0, 4, 2}, {1, 3, 3}, {0, 2, 1}};
        int seed = 1;
        for (int[] c : cases) {
            Problem p = new Problem(c[1], c[2], 24, new int[] {0, 5, 6, 15}, c[0] == 1, Double.NaN);
            GradCheck.check("sdpa " + p, in -> packed(in, p), in -> p.forward(in[0], in[1], in[2]), shapes(p), seed++);
        }
    }

    @Test
    void singleDocumentWithoutCuSeqlensAndCustomScale() {
        Problem p = new Problem(2, 2, 5, new int[] {0, 7}, true, 0.7);
        GradCheck.check("sdpa one doc", in -> Attention.sdpa(in[0], in[1], in[2], p.options()),
                in -> p.forward(in[0], in[1], in[2]), shapes(p), 20);
        Problem full = new Problem(2, 1, 17, new int[] {0, 6}, false, Double.NaN);
        GradCheck.check("sdpa bidirectional", in -> Attention.sdpa(in[0], in[1], in[2], full.options()),
                in -> full.forward(in[0], in[1], in[2]), shapes(full), 21);
    }

    @Test
    void emptyDocumentsAreSkipped() {
        Problem p = new Problem(2, 1, 8, new int[] {0, 0, 4, 4, 7}, true, Double.NaN);
        GradCheck.check("sdpa empty docs", in -> packed(in, p), in -> p.forward(in[0], in[1], in[2]), shapes(p), 22);
    }

    /** Several query and key blocks per document, head dims 64, 128 and odd; analytic float64 gradients. */
    @Test
    void longDocumentsCrossingBlocksMatchReference() {
        Object[][] cases = {
            {new Problem(4, 2, 64, new int[] {0, 70, 73, 200}, true, Double.NaN), 31L},
            {new Problem(2, 1, 128, new int[] {0, 130}, false, Double.NaN), 32L},
            {new Problem(3, 1, 24, new int[] {0, 65, 129, 131}, true, Double.NaN), 33L},
            {new Problem(2, 2, 1, new int[] {0, 100}, true, Double.NaN), 34L},
        };
        for (Object[] c : cases) {
            Problem p = (Problem) c[0];
            Random rng = new Random((Long) c[1]);
            try (Scope s = Scope.open()) {
                long[][] sh = shapes(p);
                float[] qv = GradCheck.random(rng, (long) p.t() * p.hq() * p.d());
                float[] kv = GradCheck.random(rng, (long) p.t() * p.hkv() * p.d());
                float[] vv = GradCheck.random(rng, (long) p.t() * p.hkv() * p.d());
                float[] gv = GradCheck.random(rng, (long) p.t() * p.hq() * p.d());
                // Larger logits make the softmax peaky, exercising the running-max rescale.
                for (int i = 0; i < qv.length; i++) {
                    qv[i] *= 3;
                }
                Tensor q = Tensor.of(qv, sh[0]).requiresGrad(true);
                Tensor k = Tensor.of(kv, sh[1]).requiresGrad(true);
                Tensor v = Tensor.of(vv, sh[2]).requiresGrad(true);
                Tensor out = packed(new Tensor[] {q, k, v}, p);
                double[] qd = NormsTest.toDouble(qv);
                double[] kd = NormsTest.toDouble(kv);
                double[] vd = NormsTest.toDouble(vv);
                String what = "sdpa " + p;
                double fe = GradCheck.relError(out.toFloatArray(), p.forward(qd, kd, vd));
                assertTrue(fe < 1e-5, what + ": forward error " + fe);
                out.backward(Tensor.of(gv, sh[0]));
                double[][] ref = p.backward(qd, kd, vd, NormsTest.toDouble(gv));
                double eq = GradCheck.relError(q.grad().toFloatArray(), ref[0]);
                double ek = GradCheck.relError(k.grad().toFloatArray(), ref[1]);
                double ev = GradCheck.relError(v.grad().toFloatArray(), ref[2]);
                assertTrue(eq < 1e-4 && ek < 1e-4 && ev < 1e-4, what + ": gradient errors " + eq + ", " + ek + ", " + ev);
            }
        }
    }

    @Test
    void naiveBackwardReferenceAgreesWithFiniteDifferences() {
        // The analytic reference used above, itself checked against the op on a small problem.
        Problem p = new Problem(4, 2, 6, new int[] {0, 3, 8}, true, Double.NaN);
        Random rng = new Random(40);
        try (Scope s = Scope.open()) {
            long[][] sh = shapes(p);
            float[] qv = GradCheck.random(rng, 8 * 4 * 6);
            float[] kv = GradCheck.random(rng, 8 * 2 * 6);
            float[] vv = GradCheck.random(rng, 8 * 2 * 6);
            float[] gv = GradCheck.random(rng, 8 * 4 * 6);
            double[][] ref = p.backward(NormsTest.toDouble(qv), NormsTest.toDouble(kv), NormsTest.toDouble(vv),
                    NormsTest.toDouble(gv));
            double[][] in = {NormsTest.toDouble(qv), NormsTest.toDouble(kv), NormsTest.toDouble(vv)};
            for (int input = 0; input < 3; input++) {
                double[] numeric = new double[in[input].length];
                for (int i = 0; i < numeric.length; i++) {
                    double orig = in[input][i];
                    in[input][i] = orig + 1e-6;
                    double fp = dot(gv, p.forward(in[0], in[1], in[2]));
                    in[input][i] = orig - 1e-6;
                    double fm = dot(gv, p.forward(in[0], in[1], in[2]));
                    in[input][i] = orig;
                    numeric[i] = (fp - fm) / 2e-6;
                }
                float[] r = new float[numeric.length];
                for (int i = 0; i < r.length; i++) {
                    r[i] = (float) ref[input][i];
                }
                assertTrue(GradCheck.relError(r, numeric) < 1e-6, "input " + input);
            }
            assertEquals(3, sh.length);
        }
    }

    @Test
    void batchedFormEqualsPackedEqualLengthDocuments() {
        try (Scope s = Scope.open()) {
            Random rng = new Random(50);
            int b = 3;
            int seq = 9;
            Tensor q = Tensor.of(GradCheck.random(rng, b * seq * 4 * 16), b, seq, 4, 16).requiresGrad(true);
            Tensor k = Tensor.of(GradCheck.random(rng, b * seq * 2 * 16), b, seq, 2, 16).requiresGrad(true);
            Tensor v = Tensor.of(GradCheck.random(rng, b * seq * 2 * 16), b, seq, 2, 16).requiresGrad(true);
            Tensor out = Attention.sdpa(q, k, v, AttentionOptions.causalMask());
            assertArrayEquals(new long[] {b, seq, 4, 16}, out.shape());
            Problem p = new Problem(4, 2, 16, new int[] {0, 9, 18, 27}, true, Double.NaN);
            double[] qd = NormsTest.toDouble(q.toFloatArray());
            double[] kd = NormsTest.toDouble(k.toFloatArray());
            double[] vd = NormsTest.toDouble(v.toFloatArray());
            assertTrue(GradCheck.relError(out.toFloatArray(), p.forward(qd, kd, vd)) < 1e-5);
            float[] gv = GradCheck.random(rng, out.numel());
            out.backward(Tensor.of(gv, out.shape()));
            double[][] ref = p.backward(qd, kd, vd, NormsTest.toDouble(gv));
            assertTrue(GradCheck.relError(q.grad().toFloatArray(), ref[0]) < 1e-4);
            assertTrue(GradCheck.relError(k.grad().toFloatArray(), ref[1]) < 1e-4);
            assertTrue(GradCheck.relError(v.grad().toFloatArray(), ref[2]) < 1e-4);
        }
    }

    @Test
    void stridedViewsAndBf16() {
        try (Scope s = Scope.open()) {
            Random rng = new Random(60);
            // q, k, v as views of one fused [T, 3, H, D] projection.
            int t = 11;
            Tensor qkv = Tensor.of(GradCheck.random(rng, t * 3 * 2 * 8), t, 3, 2, 8);
            Tensor q = qkv.narrow(1, 0, 1).squeeze(1);
            Tensor k = qkv.narrow(1, 1, 1).squeeze(1);
            Tensor v = qkv.narrow(1, 2, 1).squeeze(1);
            Tensor cu = Tensor.ofInts(new int[] {0, 4, 11}, 3);
            Tensor out = Attention.sdpa(q, k, v, AttentionOptions.causalMask().withCuSeqlens(cu));
            Problem p = new Problem(2, 2, 8, new int[] {0, 4, 11}, true, Double.NaN);
            double[] qd = NormsTest.toDouble(q.contiguous().toFloatArray());
            double[] kd = NormsTest.toDouble(k.contiguous().toFloatArray());
            double[] vd = NormsTest.toDouble(v.contiguous().toFloatArray());
            double[] ref = p.forward(qd, kd, vd);
            assertTrue(GradCheck.relError(out.toFloatArray(), ref) < 1e-5);

            Tensor qb = q.to(DType.BF16).requiresGrad(true);
            Tensor kb = k.to(DType.BF16).requiresGrad(true);
            Tensor vb = v.to(DType.BF16).requiresGrad(true);
            Tensor ob = Attention.sdpa(qb, kb, vb, AttentionOptions.causalMask().withCuSeqlens(cu));
            assertEquals(DType.BF16, ob.dtype());
            double[] refB = p.forward(NormsTest.toDouble(qb.toFloatArray()), NormsTest.toDouble(kb.toFloatArray()),
                    NormsTest.toDouble(vb.toFloatArray()));
            assertTrue(GradCheck.relError(ob.toFloatArray(), refB) < 8e-3);
            float[] gv = GradCheck.random(rng, ob.numel());
            Tensor g = Tensor.of(gv, ob.shape()).to(DType.BF16);
            ob.backward(g);
            assertEquals(DType.BF16, qb.grad().dtype());
            double[][] gref = p.backward(NormsTest.toDouble(qb.toFloatArray()), NormsTest.toDouble(kb.toFloatArray()),
                    NormsTest.toDouble(vb.toFloatArray()), NormsTest.toDouble(g.toFloatArray()));
            assertTrue(GradCheck.relError(qb.grad().toFloatArray(), gref[0]) < 3e-2);
            assertTrue(GradCheck.relError(kb.grad().toFloatArray(), gref[1]) < 3e-2);
            assertTrue(GradCheck.relError(vb.grad().toFloatArray(), gref[2]) < 3e-2);
        }
    }

    @Test
    void gradientsAreDeterministic() {
        try (Scope s = Scope.open()) {
            Random rng = new Random(70);
            // Several blocks per document and two query heads per kv head: many tasks sum into dk, dv.
            int t = 140;
            Tensor q = Tensor.of(GradCheck.random(rng, t * 4 * 32), t, 4, 32).requiresGrad(true);
            Tensor k = Tensor.of(GradCheck.random(rng, t * 2 * 32), t, 2, 32).requiresGrad(true);
            Tensor v = Tensor.of(GradCheck.random(rng, t * 2 * 32), t, 2, 32).requiresGrad(true);
            Tensor g = Tensor.of(GradCheck.random(rng, t * 4 * 32), t, 4, 32);
            float[][] first = null;
            for (int rep = 0; rep < 2; rep++) {
                q.setGrad(null);
                k.setGrad(null);
                v.setGrad(null);
                Attention.sdpa(q, k, v, AttentionOptions.causalMask()).backward(g);
                float[][] now = {q.grad().toFloatArray(), k.grad().toFloatArray(), v.grad().toFloatArray()};
                if (first == null) {
                    first = now;
                } else {
                    for (int i = 0; i < 3; i++) {
                        assertArrayEquals(first[i], now[i]);
                    }
                }
            }
        }
    }

    @Test
    void badInputsNameTheOpAndShapes() {
        try (Scope s = Scope.open()) {
            Tensor q = Tensor.zeros(9, 3, 8);
            Tensor k = Tensor.zeros(9, 2, 8);
            TensorOpException e = assertThrows(TensorOpException.class,
                    () -> Attention.sdpa(q, k, k, AttentionOptions.causalMask()));
            assertTrue(e.getMessage().startsWith("sdpa") && e.getMessage().contains("Hq=3")
                    && e.getMessage().contains("Hkv=2") && e.getMessage().contains("[9, 3, 8]"), e.getMessage());

            Tensor q4 = Tensor.zeros(9, 4, 8);
            Tensor k16 = Tensor.zeros(9, 2, 16);
            e = assertThrows(TensorOpException.class, () -> Attention.sdpa(q4, k16, k16, AttentionOptions.causalMask()));
            assertTrue(e.getMessage().contains("head dim") && e.getMessage().contains("[9, 2, 16]")
                    && e.getMessage().contains("[9, 4, 8]"), e.getMessage());

            Tensor short7 = Tensor.zeros(7, 2, 8);
            e = assertThrows(TensorOpException.class, () -> Attention.sdpa(q4, short7, short7,
                    AttentionOptions.causalMask()));
            assertTrue(e.getMessage().contains("[7, 2, 8]"), e.getMessage());

            Tensor bad = Tensor.ofInts(new int[] {0, 3, 7}, 3);
            e = assertThrows(TensorOpException.class, () -> Attention.sdpa(q4, k, k,
                    AttentionOptions.causalMask().withCuSeqlens(bad)));
            assertTrue(e.getMessage().startsWith("sdpa") && e.getMessage().contains("[0, 3, 7]")
                    && e.getMessage().contains("T=9"), e.getMessage());
            Tensor decreasing = Tensor.ofInts(new int[] {0, 5, 3, 9}, 4);
            e = assertThrows(TensorOpException.class, () -> Attention.sdpa(q4, k, k,
                    AttentionOptions.causalMask().withCuSeqlens(decreasing)));
            assertTrue(e.getMessage().contains("[0, 5, 3, 9]"), e.getMessage());
            Tensor wrongType = Tensor.ofLongs(new long[] {0, 9}, 2);
            e = assertThrows(TensorOpException.class, () -> Attention.sdpa(q4, k, k,
                    AttentionOptions.causalMask().withCuSeqlens(wrongType)));
            assertTrue(e.getMessage().contains("I32") && e.getMessage().contains("I64"), e.getMessage());
            Tensor qb = Tensor.zeros(2, 5, 4, 8);
            Tensor kb = Tensor.zeros(2, 5, 2, 8);
            Tensor ok = Tensor.ofInts(new int[] {0, 10}, 2);
            e = assertThrows(TensorOpException.class, () -> Attention.sdpa(qb, kb, kb,
                    AttentionOptions.causalMask().withCuSeqlens(ok)));
            assertTrue(e.getMessage().contains("cuSeqlens") && e.getMessage().contains("[2, 5, 4, 8]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Attention.sdpa(Tensor.zeros(9, 8), k, k,
                    AttentionOptions.causalMask()));
            assertTrue(e.getMessage().contains("[9, 8]"), e.getMessage());
        }
    }

    private static double dot(float[] g, double[] y) {
        double s = 0;
        for (int i = 0; i < g.length; i++) {
            s += g[i] * y[i];
        }
        return s;
    }
}
