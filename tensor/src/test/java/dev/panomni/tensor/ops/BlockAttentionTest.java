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

class BlockAttentionTest {
    static final int HQ = 4;
    static final int HKV = 2;
    static final int D = 5;
    // Queries: positions 3..7, documents 0,0,1,1,1. Keys: positions 0..6, documents 0,0,0,1,1,1,1.
    static final long[] QPOS = {3, 4, 5, 6, 7};
    static final int[] QDOC = {0, 0, 1, 1, 1};
    static final long[] KPOS = {0, 1, 2, 3, 4, 5, 6};
    static final int[] KDOC = {0, 0, 0, 1, 1, 1, 1};

    static BlockMask mask(boolean causal) {
        return new BlockMask(Tensor.ofLongs(QPOS, QPOS.length), Tensor.ofLongs(KPOS, KPOS.length),
                Tensor.ofInts(QDOC, QDOC.length), Tensor.ofInts(KDOC, KDOC.length), causal);
    }

    /** Naive float64 out and lse, concatenated as [out (Tq*Hq*D), lse (Hq*Tq)]. */
    static double[] reference(double[] q, double[] k, double[] v, boolean causal, double scale) {
        int tq = QPOS.length;
        int tk = KPOS.length;
        double[] res = new double[tq * HQ * D + HQ * tq];
        for (int h = 0; h < HQ; h++) {
            int kvh = h / (HQ / HKV);
            for (int i = 0; i < tq; i++) {
                double[] s = new double[tk];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < tk; j++) {
                    boolean vis = QDOC[i] == KDOC[j] && (!causal || KPOS[j] <= QPOS[i]);
                    if (!vis) {
                        s[j] = Double.NaN;
                        continue;
                    }
                    double dot = 0;
                    for (int c = 0; c < D; c++) {
                        dot += q[(i * HQ + h) * D + c] * k[(j * HKV + kvh) * D + c];
                    }
                    s[j] = dot * scale;
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < tk; j++) {
                    if (!Double.isNaN(s[j])) {
                        sum += Math.exp(s[j] - max);
                    }
                }
                for (int j = 0; j < tk; j++) {
                    if (Double.isNaN(s[j])) {
                        continue;
                    }
                    double p = Math.exp(s[j] - max) / sum;
                    for (int c = 0; c < D; c++) {
                        res[(i * HQ + h) * D + c] += p * v[(j * HKV + kvh) * D + c];
                    }
                }
                res[tq * HQ * D + h * tq + i] = max + Math.log(sum);
            }
        }
        return res;
    }

    @Test
    void outputAndLogSumExpMatchNaiveAndFiniteDifferences() {
        for (boolean causal : new boolean[] {true, false}) {
            double scale = 0.37;
            try (Scope s = Scope.open()) {
                BlockMask m = mask(causal);
                GradCheck.check("blockAttention causal=" + causal, in -> {
                    BlockAttention.Result r = BlockAttention.attend(in[0], in[1], in[2], m, scale);
                    return Joining.concat(new Tensor[] {r.out().reshape(-1), r.lse().reshape(-1)}, 0);
                }, x -> reference(x[0], x[1], x[2], causal, scale),
                        new long[][] {{QPOS.length, HQ, D}, {KPOS.length, HKV, D}, {KPOS.length, HKV, D}}, 11);
            }
        }
    }

    @Test
    void queriesThatSeeNoKeyGiveZeroOutputMinusInfinityAndZeroGradients() {
        try (Scope s = Scope.open()) {
            Random rng = new Random(3);
            Tensor q = Tensor.of(GradCheck.random(rng, 2 * HQ * D), 2, HQ, D).requiresGrad(true);
            Tensor k = Tensor.of(GradCheck.random(rng, 3 * HKV * D), 3, HKV, D).requiresGrad(true);
            Tensor v = Tensor.of(GradCheck.random(rng, 3 * HKV * D), 3, HKV, D).requiresGrad(true);
            // Query 0 is in document 5, which no key belongs to; query 1 sees every key.
            BlockMask m = new BlockMask(Tensor.ofLongs(new long[] {9, 9}, 2), Tensor.ofLongs(new long[] {0, 1, 2}, 3),
                    Tensor.ofInts(new int[] {5, 1}, 2), Tensor.ofInts(new int[] {1, 1, 1}, 3), true);
            BlockAttention.Result r = BlockAttention.attend(q, k, v, m, Double.NaN);
            float[] out = r.out().toFloatArray();
            float[] lse = r.lse().toFloatArray();
            for (int h = 0; h < HQ; h++) {
                assertEquals(Float.NEGATIVE_INFINITY, lse[h * 2]);
                assertTrue(Float.isFinite(lse[h * 2 + 1]));
                for (int c = 0; c < D; c++) {
                    assertEquals(0f, out[h * D + c]);
                }
            }
            Reductions.sumAll(r.out()).backward();
            for (float g : q.grad().toFloatArray()) {
                assertTrue(Float.isFinite(g));
            }
            float[] gq = q.grad().toFloatArray();
            for (int i = 0; i < HQ * D; i++) {
                assertEquals(0f, gq[i]);
            }
        }
    }

    @Test
    void blocksMergedByLogSumExpEqualAttentionOverTheWholeSequence() {
        // The ring-attention identity: split keys into two blocks, merge the partial results.
        try (Scope s = Scope.open()) {
            Random rng = new Random(5);
            int t = 9;
            Tensor q = Tensor.of(GradCheck.random(rng, t * HQ * D), t, HQ, D);
            Tensor k = Tensor.of(GradCheck.random(rng, t * HKV * D), t, HKV, D);
            Tensor v = Tensor.of(GradCheck.random(rng, t * HKV * D), t, HKV, D);
            int[] cu = {0, 4, 9};
            long[] pos = new long[t];
            int[] doc = new int[t];
            for (int i = 0; i < t; i++) {
                doc[i] = i < 4 ? 0 : 1;
                pos[i] = i;
            }
            Tensor whole = Attention.sdpa(q, k, v, AttentionOptions.causalMask().withCuSeqlens(Tensor.ofInts(cu, 3)));
            int split = 6;
            Tensor qp = Tensor.ofLongs(pos, t);
            Tensor qd = Tensor.ofInts(doc, t);
            BlockAttention.Result a = BlockAttention.attend(q, k.narrow(0, 0, split), v.narrow(0, 0, split),
                    new BlockMask(qp, qp.narrow(0, 0, split), qd, qd.narrow(0, 0, split), true), Double.NaN);
            BlockAttention.Result b = BlockAttention.attend(q, k.narrow(0, split, t - split), v.narrow(0, split, t - split),
                    new BlockMask(qp, qp.narrow(0, split, t - split), qd, qd.narrow(0, split, t - split), true), Double.NaN);
            float[] oa = a.out().toFloatArray();
            float[] ob = b.out().toFloatArray();
            float[] la = a.lse().toFloatArray();
            float[] lb = b.lse().toFloatArray();
            float[] merged = new float[oa.length];
            for (int i = 0; i < t; i++) {
                for (int h = 0; h < HQ; h++) {
                    double x = la[h * t + i];
                    double y = lb[h * t + i];
                    double m = Math.max(x, y);
                    double l = m + Math.log(Math.exp(x - m) + Math.exp(y - m));
                    for (int c = 0; c < D; c++) {
                        int at = (i * HQ + h) * D + c;
                        merged[at] = (float) (oa[at] * Math.exp(x - l) + ob[at] * Math.exp(y - l));
                    }
                }
            }
            assertTrue(GradCheck.relError(merged, whole.toFloatArray()) < 1e-5);

            // The merge op: an empty accumulator (lse -infinity) takes block a, then merges block b.
            Tensor accOut = Tensor.zeros(t, HQ, D);
            Tensor accLse = Tensor.full(DType.F32, q.device(), Double.NEGATIVE_INFINITY, HQ, t);
            BlockAttention.mergeInto(accOut, accLse, a.out(), a.lse());
            BlockAttention.mergeInto(accOut, accLse, b.out(), b.lse());
            assertTrue(GradCheck.relError(accOut.toFloatArray(), whole.toFloatArray()) < 1e-5);
        }
    }

    @Test
    void badShapesNameTheOpAndTheShapes() {
        try (Scope s = Scope.open()) {
            Tensor q = Tensor.zeros(5, HQ, D);
            Tensor k = Tensor.zeros(7, 3, D);
            TensorOpException e = assertThrows(TensorOpException.class,
                    () -> BlockAttention.attend(q, k, k, mask(true), Double.NaN));
            assertTrue(e.getMessage().contains("blockAttention") && e.getMessage().contains("[7, 3, 5]"), e.getMessage());
            Tensor k2 = Tensor.zeros(6, HKV, D);
            e = assertThrows(TensorOpException.class, () -> BlockAttention.attend(q, k2, k2, mask(true), Double.NaN));
            assertTrue(e.getMessage().contains("key positions") && e.getMessage().contains("[6]"), e.getMessage());
            Tensor badPos = Tensor.zeros(DType.F32, q.device(), 5);
            BlockMask m = new BlockMask(badPos, Tensor.ofLongs(KPOS, 7), Tensor.ofInts(QDOC, 5), Tensor.ofInts(KDOC, 7), true);
            Tensor k3 = Tensor.zeros(7, HKV, D);
            assertThrows(TensorOpException.class, () -> BlockAttention.attend(q, k3, k3, m, Double.NaN));
        }
    }
}
