package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LinalgTest {
    /**
     * Naive float64 matmul of a [..., M, K] and b [..., K, N] (both rank >= 2, row-major values),
     * batch dims broadcast.
     */
    static double[] matmulRef(double[] a, long[] as, double[] b, long[] bs) {
        int ra = as.length;
        int rb = bs.length;
        int m = (int) as[ra - 2];
        int k = (int) as[ra - 1];
        int n = (int) bs[rb - 1];
        long[] batch = Shapes.broadcast("ref", Arrays.copyOf(as, ra - 2), Arrays.copyOf(bs, rb - 2));
        int nb = (int) Shapes.numel(batch);
        double[] out = new double[nb * m * n];
        for (int i = 0; i < nb; i++) {
            int ai = (int) batchIndex(i, batch, Arrays.copyOf(as, ra - 2));
            int bi = (int) batchIndex(i, batch, Arrays.copyOf(bs, rb - 2));
            for (int r = 0; r < m; r++) {
                for (int c = 0; c < n; c++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        s += a[(ai * m + r) * k + p] * b[(bi * k + p) * n + c];
                    }
                    out[(i * m + r) * n + c] = s;
                }
            }
        }
        return out;
    }

    /** Index into an operand's (broadcast) batch of the out batch entry {@code linear}. */
    static long batchIndex(long linear, long[] outBatch, long[] own) {
        long[] pos = new long[outBatch.length];
        long rem = linear;
        for (int d = outBatch.length - 1; d >= 0; d--) {
            pos[d] = rem % outBatch[d];
            rem /= outBatch[d];
        }
        long idx = 0;
        int shift = outBatch.length - own.length;
        for (int d = 0; d < own.length; d++) {
            idx = idx * own[d] + (own[d] == 1 ? 0 : pos[d + shift]);
        }
        return idx;
    }

    static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    /** Row-major transpose of the last two dims of {@code v} [rows, cols] (one matrix). */
    static double[] transposed(double[] v, int rows, int cols) {
        double[] t = new double[v.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = v[r * cols + c];
            }
        }
        return t;
    }

    private static void checkForward(int m, int n, int k, long seed) {
        try (Scope s = Scope.open("t")) {
            Random rng = new Random(seed);
            float[] av = GradCheck.random(rng, (long) m * k);
            float[] bv = GradCheck.random(rng, (long) k * n);
            Tensor a = Tensor.of(av, m, k);
            Tensor b = Tensor.of(bv, k, n);
            float[] got = Linalg.matmul(a, b).toFloatArray();
            double[] want = matmulRef(toDouble(av), new long[] {m, k}, toDouble(bv), new long[] {k, n});
            double err = GradCheck.relError(got, want);
            assertTrue(err < 1e-5, m + "x" + n + "x" + k + ": relative error " + err);
        }
    }

    @Test
    void forwardMatchesNaiveForOddSizesAndBlockEdges() {
        int[][] sizes = {
            {1, 1, 1}, {7, 13, 5}, {33, 65, 17}, {1, 40, 3}, {9, 1, 30}, {130, 33, 7},
            // crosses the 128-row A block and the 512-deep K block (split 2 x 260), ragged panels
            {136, 70, 520},
            {200, 300, 400},
            // N beyond one 2048-wide B block, K in 3 blocks
            {2, 2100, 1100},
            // more K blocks than one pass of the B packing buffer holds
            {1, 2100, 2100},
        };
        long seed = 1;
        for (int[] s : sizes) {
            checkForward(s[0], s[1], s[2], seed++);
        }
    }

    @Test
    void transposedViewsAreReadInPlace() {
        try (Scope s = Scope.open("t")) {
            int m = 37;
            int n = 45;
            int k = 29;
            Random rng = new Random(3);
            float[] at = GradCheck.random(rng, (long) k * m);
            float[] bt = GradCheck.random(rng, (long) n * k);
            float[] av = GradCheck.random(rng, (long) m * k);
            float[] bv = GradCheck.random(rng, (long) k * n);
            Tensor aT = Tensor.of(at, k, m).t();
            Tensor bT = Tensor.of(bt, n, k).t();
            Tensor a = Tensor.of(av, m, k);
            Tensor b = Tensor.of(bv, k, n);
            assertFalse(aT.isContiguous());
            double[] aTd = transposed(toDouble(at), k, m);
            double[] bTd = transposed(toDouble(bt), n, k);
            long[] as = {m, k};
            long[] bs = {k, n};
            Tensor[][] pairs = {{aT, b}, {a, bT}, {aT, bT}};
            double[][][] refs = {{aTd, toDouble(bv)}, {toDouble(av), bTd}, {aTd, bTd}};
            for (int i = 0; i < pairs.length; i++) {
                float[] got = Linalg.matmul(pairs[i][0], pairs[i][1]).toFloatArray();
                double err = GradCheck.relError(got, matmulRef(refs[i][0], as, refs[i][1], bs));
                assertTrue(err < 1e-5, "pair " + i + ": relative error " + err);
            }
            // The kernel accepts the view's strides as they are: column-major, no copy.
            assertArrayEquals(new long[] {1, m}, Linalg.blasStrides(m, k, aT.stride(0), aT.stride(1)));
        }
    }

    @Test
    void batchedWithBroadcastMatchesNaive() {
        long[][][] cases = {
            {{4, 6, 5}, {4, 5, 3}},
            {{2, 1, 6, 5}, {3, 5, 7}},
            {{2, 3, 6, 5}, {5, 7}},      // b shared: batch folded into rows
            {{6, 5}, {2, 5, 7}},         // a shared
            {{1, 6, 5}, {2, 1, 5, 7}},
            {{64, 9, 11}, {64, 11, 10}}, // many small products: parallel over the batch
        };
        long seed = 10;
        for (long[][] c : cases) {
            try (Scope s = Scope.open("t")) {
                Random rng = new Random(seed++);
                float[] av = GradCheck.random(rng, Shapes.numel(c[0]));
                float[] bv = GradCheck.random(rng, Shapes.numel(c[1]));
                Tensor out = Linalg.matmul(Tensor.of(av, c[0]), Tensor.of(bv, c[1]));
                long[] batch = Shapes.broadcast("t", Arrays.copyOf(c[0], c[0].length - 2),
                        Arrays.copyOf(c[1], c[1].length - 2));
                long[] want = Arrays.copyOf(batch, batch.length + 2);
                want[batch.length] = c[0][c[0].length - 2];
                want[batch.length + 1] = c[1][c[1].length - 1];
                assertArrayEquals(want, out.shape(), Arrays.deepToString(c));
                double err = GradCheck.relError(out.toFloatArray(), matmulRef(toDouble(av), c[0], toDouble(bv), c[1]));
                assertTrue(err < 1e-5, Arrays.deepToString(c) + ": relative error " + err);
            }
        }
    }

    @Test
    void transposedBatchViews() {
        try (Scope s = Scope.open("t")) {
            // a [2, 3, 4, 5] stored as [2, 3, 5, 4]; b a permuted [5, 2, 6] -> [2, 5, 6] (strided batch).
            Random rng = new Random(21);
            float[] av = GradCheck.random(rng, 2 * 3 * 5 * 4);
            float[] bv = GradCheck.random(rng, 5 * 2 * 6);
            Tensor a = Tensor.of(av, 2, 3, 5, 4).transpose(-2, -1);
            Tensor b = Tensor.of(bv, 5, 2, 6).permute(1, 0, 2).unsqueeze(1);
            double[] ad = new double[av.length];
            for (int i = 0; i < 6; i++) {
                System.arraycopy(transposed(Arrays.copyOfRange(toDouble(av), i * 20, i * 20 + 20), 5, 4), 0, ad, i * 20, 20);
            }
            double[] bd = new double[bv.length];
            for (int p = 0; p < 5; p++) {
                for (int i = 0; i < 2; i++) {
                    for (int j = 0; j < 6; j++) {
                        bd[(i * 5 + p) * 6 + j] = bv[(p * 2 + i) * 6 + j];
                    }
                }
            }
            Tensor out = Linalg.matmul(a, b);
            assertArrayEquals(new long[] {2, 3, 4, 6}, out.shape());
            double err = GradCheck.relError(out.toFloatArray(), matmulRef(ad, new long[] {2, 3, 4, 5}, bd,
                    new long[] {2, 1, 5, 6}));
            assertTrue(err < 1e-5, "relative error " + err);
        }
    }

    @Test
    void rankOneOperandsFollowTorchMatmul() {
        try (Scope s = Scope.open("t")) {
            Random rng = new Random(5);
            float[] v = GradCheck.random(rng, 4);
            float[] w = GradCheck.random(rng, 4);
            float[] m = GradCheck.random(rng, 4 * 3);
            float[] bm = GradCheck.random(rng, 2 * 3 * 4);
            Tensor dot = Linalg.matmul(Tensor.of(v, 4), Tensor.of(w, 4));
            assertArrayEquals(new long[0], dot.shape());
            double want = 0;
            for (int i = 0; i < 4; i++) {
                want += (double) v[i] * w[i];
            }
            assertEquals(want, dot.item(), 1e-6);
            Tensor vm = Linalg.matmul(Tensor.of(v, 4), Tensor.of(m, 4, 3));
            assertArrayEquals(new long[] {3}, vm.shape());
            assertTrue(GradCheck.relError(vm.toFloatArray(), matmulRef(toDouble(v), new long[] {1, 4}, toDouble(m),
                    new long[] {4, 3})) < 1e-6);
            Tensor mv = Linalg.matmul(Tensor.of(bm, 2, 3, 4), Tensor.of(w, 4));
            assertArrayEquals(new long[] {2, 3}, mv.shape());
            assertTrue(GradCheck.relError(mv.toFloatArray(), matmulRef(toDouble(bm), new long[] {2, 3, 4}, toDouble(w),
                    new long[] {4, 1})) < 1e-6);
            Tensor vb = Linalg.matmul(Tensor.of(v, 4), Tensor.of(bm, 2, 4, 3));
            assertArrayEquals(new long[] {2, 3}, vb.shape());
        }
        GradCheck.check("vector x matrix", t -> Linalg.matmul(t[0], t[1]),
                in -> matmulRef(in[0], new long[] {1, 4}, in[1], new long[] {4, 3}), new long[][] {{4}, {4, 3}}, 31);
        GradCheck.check("batched matrix x vector", t -> Linalg.matmul(t[0], t[1]),
                in -> matmulRef(in[0], new long[] {2, 3, 4}, in[1], new long[] {4, 1}), new long[][] {{2, 3, 4}, {4}}, 32);
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        long[][][] cases = {
            {{3, 4}, {4, 5}},
            {{2, 3, 4}, {2, 4, 5}},
            {{2, 1, 3, 4}, {3, 4, 2}},
            {{2, 3, 4}, {4, 5}},  // shared b: its gradient is one product over all rows
            {{3, 4}, {2, 4, 5}},  // shared a: per-batch gradients summed
        };
        long seed = 40;
        for (long[][] c : cases) {
            GradCheck.check("matmul " + Arrays.deepToString(c), t -> Linalg.matmul(t[0], t[1]),
                    in -> matmulRef(in[0], c[0], in[1], c[1]), c, seed++);
        }
        // Through transposed views: a = A^T with A stored [4, 3].
        GradCheck.check("matmul transposed", t -> Linalg.matmul(t[0].t(), t[1].t()),
                in -> matmulRef(transposed(in[0], 4, 3), new long[] {3, 4}, transposed(in[1], 5, 4), new long[] {4, 5}),
                new long[][] {{4, 3}, {5, 4}}, 50);
    }

    /** Naive x W^T + bias for x [rows, in] row-major. */
    static double[] linearRef(double[] x, double[] w, double[] bias, int rows, int in, int out) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) {
                    s += x[r * in + i] * w[o * in + i];
                }
                y[r * out + o] = s;
            }
        }
        return y;
    }

    @Test
    void linearMatchesNaiveAndFiniteDifferences() {
        try (Scope s = Scope.open("t")) {
            Random rng = new Random(60);
            int rows = 2 * 67;
            int in = 45;
            int out = 70;
            float[] xv = GradCheck.random(rng, (long) rows * in);
            float[] wv = GradCheck.random(rng, (long) out * in);
            float[] bv = GradCheck.random(rng, out);
            Tensor y = Linalg.linear(Tensor.of(xv, 2, 67, in), Tensor.of(wv, out, in), Tensor.of(bv, out));
            assertArrayEquals(new long[] {2, 67, out}, y.shape());
            double err = GradCheck.relError(y.toFloatArray(), linearRef(toDouble(xv), toDouble(wv), toDouble(bv), rows, in, out));
            assertTrue(err < 1e-5, "relative error " + err);
            Tensor y0 = Linalg.linear(Tensor.of(xv, rows, in), Tensor.of(wv, out, in), null);
            double err0 = GradCheck.relError(y0.toFloatArray(), linearRef(toDouble(xv), toDouble(wv), null, rows, in, out));
            assertTrue(err0 < 1e-5, "relative error without bias " + err0);
        }
        GradCheck.check("linear", t -> Linalg.linear(t[0], t[1], t[2]),
                in -> linearRef(in[0], in[1], in[2], 6, 4, 3), new long[][] {{2, 3, 4}, {3, 4}, {3}}, 61);
        GradCheck.check("linear no bias", t -> Linalg.linear(t[0], t[1], null),
                in -> linearRef(in[0], in[1], null, 5, 4, 3), new long[][] {{5, 4}, {3, 4}}, 62);
    }

    @Test
    void bf16InputsComputeInF32AndReturnBf16() {
        try (Scope s = Scope.open("t")) {
            Random rng = new Random(70);
            int m = 19;
            int n = 23;
            int k = 31;
            Tensor a = Tensor.of(GradCheck.random(rng, (long) m * k), m, k).to(DType.BF16);
            Tensor b = Tensor.of(GradCheck.random(rng, (long) k * n), k, n).to(DType.BF16);
            Tensor c = Linalg.matmul(a, b.t().contiguous().t());
            assertEquals(DType.BF16, c.dtype());
            // The reference uses the bf16-rounded inputs; the result is rounded once more to bf16.
            double[] want = matmulRef(toDouble(a.toFloatArray()), new long[] {m, k}, toDouble(b.toFloatArray()),
                    new long[] {k, n});
            double err = GradCheck.relError(c.toFloatArray(), want);
            assertTrue(err < 8e-3, "relative error " + err);

            Tensor x = Tensor.of(GradCheck.random(rng, 3L * k), 3, k).to(DType.BF16).requiresGrad(true);
            Tensor w = Tensor.of(GradCheck.random(rng, (long) n * k), n, k).to(DType.BF16).requiresGrad(true);
            Tensor bias = Tensor.of(GradCheck.random(rng, n), n).to(DType.BF16).requiresGrad(true);
            Tensor y = Linalg.linear(x, w, bias);
            assertEquals(DType.BF16, y.dtype());
            double[] wantY = linearRef(toDouble(x.toFloatArray()), toDouble(w.toFloatArray()),
                    toDouble(bias.toFloatArray()), 3, k, n);
            assertTrue(GradCheck.relError(y.toFloatArray(), wantY) < 8e-3);
            y.backward(Tensor.ones(DType.BF16, y.device(), y.shape()));
            assertEquals(DType.BF16, w.grad().dtype());
            assertArrayEquals(new long[] {n, k}, w.grad().shape());
            // dbias = column sums of a ones gradient = the row count.
            for (float g : bias.grad().toFloatArray()) {
                assertEquals(3f, g, 0f);
            }
        }
    }

    @Test
    void kernelHonoursAlphaBetaAndIgnoresStaleOutputWhenBetaIsZero() {
        try (Scope s = Scope.open("t")) {
            Random rng = new Random(80);
            int m = 10;
            int n = 35;
            int k = 6;
            float[] av = GradCheck.random(rng, (long) m * k);
            float[] bv = GradCheck.random(rng, (long) k * n);
            float[] cv = GradCheck.random(rng, (long) m * n);
            Tensor a = Tensor.of(av, 1, m, k);
            Tensor b = Tensor.of(bv, 1, k, n);
            Tensor c = Tensor.of(cv, 1, m, n);
            LinalgKernels kernels = a.backend().kernels(LinalgKernels.class);
            kernels.gemm(a, b, c, 0.5f, 2f);
            double[] prod = matmulRef(toDouble(av), new long[] {m, k}, toDouble(bv), new long[] {k, n});
            double[] want = new double[prod.length];
            for (int i = 0; i < want.length; i++) {
                want[i] = 0.5 * prod[i] + 2.0 * cv[i];
            }
            assertTrue(GradCheck.relError(c.toFloatArray(), want) < 1e-6);
            Tensor stale = Tensor.full(DType.F32, a.device(), Float.NaN, 1, m, n);
            kernels.gemm(a, b, stale, 1f, 0f);
            assertTrue(GradCheck.relError(stale.toFloatArray(), prod) < 1e-6);
        }
    }

    @Test
    void resultsAreBitIdenticalAcrossRuns() {
        try (Scope s = Scope.open("t")) {
            Random rng = new Random(90);
            Tensor a = Tensor.of(GradCheck.random(rng, 300L * 700), 300, 700);
            Tensor b = Tensor.of(GradCheck.random(rng, 700L * 260), 700, 260);
            float[] first = Linalg.matmul(a, b).toFloatArray();
            float[] second = Linalg.matmul(a, b).toFloatArray();
            assertArrayEquals(first, second);
            // The same product as one entry of a batch gives the same bits.
            float[] batched = Linalg.matmul(Views.expand(Views.unsqueeze(a, 0), 2, 300, 700), b).toFloatArray();
            assertArrayEquals(first, Arrays.copyOf(batched, first.length));
        }
    }

    @Test
    void emptyDimensions() {
        try (Scope s = Scope.open("t")) {
            Tensor c = Linalg.matmul(Tensor.zeros(3, 0), Tensor.zeros(0, 4));
            assertArrayEquals(new long[] {3, 4}, c.shape());
            assertArrayEquals(new float[12], c.toFloatArray());
            assertArrayEquals(new long[] {0, 4}, Linalg.matmul(Tensor.zeros(0, 5), Tensor.zeros(5, 4)).shape());
        }
    }

    @Test
    void badInputsNameTheOpAndShapes() {
        try (Scope s = Scope.open("t")) {
            TensorOpException e = assertThrows(TensorOpException.class,
                    () -> Linalg.matmul(Tensor.zeros(2, 3), Tensor.zeros(4, 5)));
            assertTrue(e.getMessage().startsWith("matmul"), e.getMessage());
            assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4, 5]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Linalg.matmul(Tensor.zeros(2, 3, 4), Tensor.zeros(3, 4, 5)));
            assertTrue(e.getMessage().contains("[2, 3, 4]") && e.getMessage().contains("[3, 4, 5]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Linalg.matmul(Tensor.scalar(1), Tensor.zeros(1, 2)));
            assertTrue(e.getMessage().startsWith("matmul"), e.getMessage());
            e = assertThrows(TensorOpException.class,
                    () -> Linalg.matmul(Tensor.zeros(2, 3), Tensor.zeros(3, 2).to(DType.BF16)));
            assertTrue(e.getMessage().contains("dtype"), e.getMessage());
            e = assertThrows(TensorOpException.class,
                    () -> Linalg.matmul(Tensor.zeros(2, 3).to(DType.I64), Tensor.zeros(3, 2).to(DType.I64)));
            assertTrue(e.getMessage().startsWith("matmul"), e.getMessage());

            e = assertThrows(TensorOpException.class, () -> Linalg.linear(Tensor.zeros(4, 6), Tensor.zeros(5, 7), null));
            assertTrue(e.getMessage().startsWith("linear") && e.getMessage().contains("[4, 6]")
                    && e.getMessage().contains("[5, 7]"), e.getMessage());
            e = assertThrows(TensorOpException.class,
                    () -> Linalg.linear(Tensor.zeros(4, 6), Tensor.zeros(5, 6), Tensor.zeros(4)));
            assertTrue(e.getMessage().startsWith("linear") && e.getMessage().contains("[4]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Linalg.linear(Tensor.zeros(4, 6), Tensor.zeros(6), null));
            assertTrue(e.getMessage().startsWith("linear") && e.getMessage().contains("[6]"), e.getMessage());
        }
    }

    @Test
    void noHistoryIsRecordedUnderNoGrad() {
        try (Scope s = Scope.open("t")) {
            Tensor a = Tensor.ones(2, 3).requiresGrad(true);
            Tensor c = GradMode.noGrad(() -> Linalg.matmul(a, Tensor.ones(3, 2)));
            assertFalse(c.requiresGrad());
            assertTrue(Linalg.matmul(a, Tensor.ones(3, 2)).requiresGrad());
        }
    }
}
