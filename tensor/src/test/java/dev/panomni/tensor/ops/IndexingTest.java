package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IndexingTest {
    static long[] randomIndex(Random rng, int n, long bound) {
        long[] v = new long[n];
        for (int i = 0; i < n; i++) {
            v[i] = rng.nextInt((int) bound);
        }
        return v;
    }

    static int[] toInts(long[] v) {
        int[] o = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            o[i] = (int) v[i];
        }
        return o;
    }

    /** Naive torch.gather: out[p] = t[p with coordinate d = index[p]]. */
    static double[] gatherRef(double[] t, long[] tShape, int d, long[] index, long[] iShape) {
        double[] o = new double[index.length];
        for (int p = 0; p < o.length; p++) {
            int[] idx = RowMajor.unravel(p, iShape);
            idx[d] = (int) index[p];
            o[p] = t[RowMajor.ravel(idx, tShape)];
        }
        return o;
    }

    @Test
    void gatherMatchesReferenceAndFiniteDifferences() {
        Random rng = new Random(1);
        // {source shape, index shape, dim}; index smaller than the source off the dim in the later cases.
        Object[][] cases = {
            {new long[] {4, 5, 3}, new long[] {4, 7, 3}, 1},
            {new long[] {4, 5, 3}, new long[] {3, 2, 2}, 0},
            {new long[] {4, 5, 3}, new long[] {2, 5, 6}, -1},
            {new long[] {9}, new long[] {13}, 0},
        };
        int seed = 10;
        for (Object[] c : cases) {
            long[] ts = (long[]) c[0];
            long[] is = (long[]) c[1];
            int dim = (Integer) c[2];
            int d = dim < 0 ? dim + ts.length : dim;
            long[] index = randomIndex(rng, RowMajor.numel(is), ts[d]);
            boolean i32 = seed % 2 == 1;
            GradCheck.check("gather " + java.util.Arrays.toString(is) + " dim " + dim, t -> {
                Tensor idx = i32 ? Tensor.ofInts(toInts(index), is) : Tensor.ofLongs(index, is);
                return Indexing.gather(t[0], dim, idx);
            }, in -> gatherRef(in[0], ts, d, index, is), new long[][] {ts}, seed++);
        }
    }

    @Test
    void gatherReadsStridedSourcesAndMovesBf16AndI64Exactly() {
        try (Scope s = Scope.open()) {
            // Source [3, 2] as the transpose of [[1, 2, 3], [4, 5, 6]]: rows (1, 4), (2, 5), (3, 6).
            Tensor t = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).transpose(0, 1);
            Tensor idx = Tensor.ofLongs(new long[] {1, 1, 0, 1, 0, 0}, 3, 2);
            assertArrayEquals(new float[] {4, 4, 2, 5, 3, 3}, Indexing.gather(t, 1, idx).toFloatArray());

            Tensor b = Tensor.of(new float[] {1.5f, -0.375f, 1e30f}, 3).to(DType.BF16);
            Tensor bg = Indexing.gather(b, 0, Tensor.ofLongs(new long[] {2, 0, 1, 2}, 4));
            assertEquals(DType.BF16, bg.dtype());
            assertArrayEquals(new float[] {b.getFloat(2), 1.5f, -0.375f, b.getFloat(2)}, bg.toFloatArray());

            long big = (1L << 60) + 7;
            Tensor l = Tensor.ofLongs(new long[] {big, -big}, 2);
            assertArrayEquals(new long[] {-big, big, -big},
                    Indexing.gather(l, -1, Tensor.ofInts(new int[] {1, 0, 1}, 3)).toLongArray());
        }
    }

    /** Naive torch.scatter_add (out of place). */
    static double[] scatterAddRef(double[] t, long[] tShape, int d, long[] index, long[] iShape, double[] src,
                                  long[] sShape) {
        double[] o = t.clone();
        for (int p = 0; p < index.length; p++) {
            int[] idx = RowMajor.unravel(p, iShape);
            double v = src[RowMajor.ravel(idx, sShape)];
            idx[d] = (int) index[p];
            o[RowMajor.ravel(idx, tShape)] += v;
        }
        return o;
    }

    @Test
    void scatterAddMatchesReferenceAndFiniteDifferences() {
        Random rng = new Random(2);
        // {t shape, index shape, src shape, dim}
        Object[][] cases = {
            {new long[] {4, 5, 3}, new long[] {4, 9, 3}, new long[] {4, 9, 3}, 1},
            {new long[] {4, 5, 3}, new long[] {7, 2, 2}, new long[] {8, 3, 2}, 0},
            {new long[] {3, 5}, new long[] {2, 11}, new long[] {3, 11}, -1},
            {new long[] {5}, new long[] {17}, new long[] {17}, 0},
        };
        int seed = 20;
        for (Object[] c : cases) {
            long[] ts = (long[]) c[0];
            long[] is = (long[]) c[1];
            long[] ss = (long[]) c[2];
            int dim = (Integer) c[3];
            int d = dim < 0 ? dim + ts.length : dim;
            long[] index = randomIndex(rng, RowMajor.numel(is), ts[d]);
            GradCheck.check("scatterAdd " + java.util.Arrays.toString(is) + " dim " + dim,
                    t -> Indexing.scatterAdd(t[0], dim, Tensor.ofLongs(index, is), t[1]),
                    in -> scatterAddRef(in[0], ts, d, index, is, in[1], ss), new long[][] {ts, ss}, seed++);
        }
    }

    /** Naive torch.index_select. */
    static double[] indexSelectRef(double[] t, long[] tShape, int d, long[] index) {
        long[] os = tShape.clone();
        os[d] = index.length;
        double[] o = new double[RowMajor.numel(os)];
        for (int p = 0; p < o.length; p++) {
            int[] idx = RowMajor.unravel(p, os);
            idx[d] = (int) index[idx[d]];
            o[p] = t[RowMajor.ravel(idx, tShape)];
        }
        return o;
    }

    /** Naive torch.index_add (out of place). */
    static double[] indexAddRef(double[] t, long[] tShape, int d, long[] index, double[] src) {
        long[] ss = tShape.clone();
        ss[d] = index.length;
        double[] o = t.clone();
        for (int p = 0; p < src.length; p++) {
            int[] idx = RowMajor.unravel(p, ss);
            idx[d] = (int) index[idx[d]];
            o[RowMajor.ravel(idx, tShape)] += src[p];
        }
        return o;
    }

    @Test
    void indexSelectAndIndexAddMatchReferenceAndFiniteDifferences() {
        Random rng = new Random(3);
        long[] ts = {5, 7, 3};
        int seed = 30;
        for (int dim = -3; dim < 3; dim++) {
            int d = dim < 0 ? dim + 3 : dim;
            long[] index = randomIndex(rng, 9, ts[d]);
            long[] ss = ts.clone();
            ss[d] = index.length;
            int fdim = dim;
            boolean i32 = dim % 2 == 0;
            GradCheck.check("indexSelect dim " + dim, t -> Indexing.indexSelect(t[0], fdim,
                            i32 ? Tensor.ofInts(toInts(index), index.length) : Tensor.ofLongs(index, index.length)),
                    in -> indexSelectRef(in[0], ts, d, index), new long[][] {ts}, seed++);
            GradCheck.check("indexAdd dim " + dim, t -> Indexing.indexAdd(t[0], fdim,
                            i32 ? Tensor.ofInts(toInts(index), index.length) : Tensor.ofLongs(index, index.length), t[1]),
                    in -> indexAddRef(in[0], ts, d, index, in[1]), new long[][] {ts, ss}, seed++);
        }
        // A strided (transposed) source for indexSelect.
        GradCheck.check("indexSelect strided", t -> Indexing.indexSelect(t[0].transpose(0, 1), 0,
                        Tensor.ofLongs(new long[] {2, 0, 2}, 3)),
                in -> {
                    double[] o = new double[3 * 4];
                    long[] rows = {2, 0, 2};
                    for (int j = 0; j < 3; j++) {
                        for (int c = 0; c < 4; c++) {
                            o[j * 4 + c] = in[0][c * 3 + (int) rows[j]];
                        }
                    }
                    return o;
                }, new long[][] {{4, 3}}, seed);
    }

    @Test
    void indexAddIsDeterministicAndEqualsASequentialFloatLoop() {
        Random rng = new Random(4);
        int v = 37;
        int n = 4001;
        int dCols = 301;
        long[] index = randomIndex(rng, n, v);
        float[] src = GradCheck.random(rng, (long) n * dCols);
        float[] base = GradCheck.random(rng, (long) v * dCols);
        float[] expected = base.clone();
        for (int j = 0; j < n; j++) {
            for (int c = 0; c < dCols; c++) {
                expected[(int) index[j] * dCols + c] += src[j * dCols + c];
            }
        }
        try (Scope s = Scope.open()) {
            Tensor idx = Tensor.ofLongs(index, n);
            Tensor sr = Tensor.of(src, n, dCols);
            Tensor t = Tensor.of(base, v, dCols);
            float[] first = Indexing.indexAdd(t, 0, idx, sr).toFloatArray();
            assertArrayEquals(expected, first, 0f);
            assertArrayEquals(first, Indexing.indexAdd(t, 0, idx, sr).toFloatArray(), 0f);
            // Same data through scatterAdd along dim 0 of [n, dCols] with the index broadcast per column.
            long[] wide = new long[n * dCols];
            for (int j = 0; j < n; j++) {
                java.util.Arrays.fill(wide, j * dCols, (j + 1) * dCols, index[j]);
            }
            float[] scattered = Indexing.scatterAdd(t, 0, Tensor.ofLongs(wide, n, dCols), sr).toFloatArray();
            assertArrayEquals(expected, scattered, 0f);
        }
        // Along a middle dim with many outer slices (the kernel's other work split).
        int outer = 40;
        int m = 801;
        long[] mid = randomIndex(rng, m, v);
        float[] src2 = GradCheck.random(rng, (long) outer * m * 3);
        float[] base2 = GradCheck.random(rng, (long) outer * v * 3);
        float[] expected2 = base2.clone();
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < m; j++) {
                for (int c = 0; c < 3; c++) {
                    expected2[(o * v + (int) mid[j]) * 3 + c] += src2[(o * m + j) * 3 + c];
                }
            }
        }
        try (Scope s = Scope.open()) {
            Tensor out = Indexing.indexAdd(Tensor.of(base2, outer, v, 3), -2, Tensor.ofLongs(mid, m),
                    Tensor.of(src2, outer, m, 3));
            assertArrayEquals(expected2, out.toFloatArray(), 0f);
        }
    }

    @Test
    void indexAddInPlaceAccumulatesIntoBf16AndRefusesBadDestinations() {
        try (Scope s = Scope.open()) {
            Tensor dst = Tensor.zeros(DType.BF16, Device.CPU, 3, 2);
            Tensor src = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2).to(DType.BF16);
            Indexing.indexAddInPlace(dst, 0, Tensor.ofLongs(new long[] {2, 0, 2}, 3), src);
            assertArrayEquals(new float[] {3, 4, 0, 0, 6, 8}, dst.toFloatArray());

            Tensor f = Tensor.zeros(2, 3);
            Indexing.indexAddInPlace(f, -1, Tensor.ofInts(new int[] {1, 1}, 2), Tensor.ones(2, 2));
            assertArrayEquals(new float[] {0, 2, 0, 0, 2, 0}, f.toFloatArray());

            Tensor strided = Tensor.zeros(3, 2).transpose(0, 1);
            TensorOpException e = assertThrows(TensorOpException.class, () ->
                    Indexing.indexAddInPlace(strided, 0, Tensor.ofLongs(new long[] {0}, 1), Tensor.ones(1, 3)));
            assertTrue(e.getMessage().startsWith("indexAddInPlace") && e.getMessage().contains("contiguous"), e.getMessage());

            // A bad index anywhere leaves the destination untouched.
            Tensor keep = Tensor.ones(3, 2);
            e = assertThrows(TensorOpException.class, () ->
                    Indexing.indexAddInPlace(keep, 0, Tensor.ofLongs(new long[] {0, 3}, 2), Tensor.ones(2, 2)));
            assertTrue(e.getMessage().contains("index 3") && e.getMessage().contains("0..2"), e.getMessage());
            assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1}, keep.toFloatArray());

            Tensor x = Tensor.ones(3, 2).requiresGrad(true);
            Tensor y = Arith.mulScalar(x, 2.0);
            e = assertThrows(TensorOpException.class, () ->
                    Indexing.indexAddInPlace(y, 0, Tensor.ofLongs(new long[] {0}, 1), Tensor.ones(1, 2)));
            assertTrue(e.getMessage().contains("autograd"), e.getMessage());
            GradMode.noGrad(() -> Indexing.indexAddInPlace(y, 0, Tensor.ofLongs(new long[] {0}, 1), Tensor.ones(1, 2)));
            assertArrayEquals(new float[] {3, 3, 2, 2, 2, 2}, y.toFloatArray());
        }
    }

    @Test
    void integerTensorsAccumulateExactly() {
        try (Scope s = Scope.open()) {
            Tensor counts = Tensor.ofLongs(new long[] {0, 0, 0, 0}, 4);
            Tensor ids = Tensor.ofLongs(new long[] {3, 1, 3, 3, 0}, 5);
            Tensor ones = Tensor.ofLongs(new long[] {1, 1, 1, 1, 1}, 5);
            assertArrayEquals(new long[] {1, 1, 0, 3}, Indexing.indexAdd(counts, 0, ids, ones).toLongArray());
            assertArrayEquals(new long[] {1, 1, 0, 3}, Indexing.scatterAdd(counts, 0, ids, ones).toLongArray());
            long big = (1L << 55) + 3;
            Tensor table = Tensor.ofLongs(new long[] {big, 7, -big}, 3);
            assertArrayEquals(new long[] {-big, big, -big, 7},
                    Indexing.indexSelect(table, 0, Tensor.ofInts(new int[] {2, 0, 2, 1}, 4)).toLongArray());
        }
    }

    @Test
    void outOfRangeIndicesNameTheOpValueAndRange() {
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.zeros(3, 5);
            TensorOpException e = assertThrows(TensorOpException.class, () ->
                    Indexing.gather(t, 1, Tensor.ofLongs(new long[] {0, 7, 1}, 1, 3)));
            assertTrue(e.getMessage().startsWith("gather") && e.getMessage().contains("index 7")
                    && e.getMessage().contains("0..4"), e.getMessage());
            e = assertThrows(TensorOpException.class, () ->
                    Indexing.gather(t, 0, Tensor.ofInts(new int[] {-1}, 1, 1)));
            assertTrue(e.getMessage().contains("index -1") && e.getMessage().contains("0..2"), e.getMessage());
            e = assertThrows(TensorOpException.class, () ->
                    Indexing.indexSelect(t, 0, Tensor.ofLongs(new long[] {1, 3}, 2)));
            assertTrue(e.getMessage().startsWith("indexSelect") && e.getMessage().contains("index 3")
                    && e.getMessage().contains("0..2"), e.getMessage());
            e = assertThrows(TensorOpException.class, () ->
                    Indexing.scatterAdd(t, 1, Tensor.ofLongs(new long[] {5}, 1, 1), Tensor.ones(1, 1)));
            assertTrue(e.getMessage().startsWith("scatterAdd") && e.getMessage().contains("index 5")
                    && e.getMessage().contains("0..4"), e.getMessage());
            e = assertThrows(TensorOpException.class, () ->
                    Indexing.indexAdd(t, 1, Tensor.ofLongs(new long[] {-2}, 1), Tensor.ones(3, 1)));
            assertTrue(e.getMessage().startsWith("indexAdd") && e.getMessage().contains("index -2"), e.getMessage());
        }
    }

    @Test
    void badShapesAndDtypesNameTheOpAndShapes() {
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.zeros(3, 5);
            TensorOpException e = assertThrows(TensorOpException.class, () ->
                    Indexing.gather(t, 1, Tensor.ofLongs(new long[] {0, 1, 2, 3}, 4, 1)));
            assertTrue(e.getMessage().startsWith("gather") && e.getMessage().contains("[4, 1]")
                    && e.getMessage().contains("[3, 5]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Indexing.gather(t, 1, Tensor.ofLongs(new long[] {0}, 1)));
            assertTrue(e.getMessage().startsWith("gather") && e.getMessage().contains("rank"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Indexing.gather(t, 1, Tensor.zeros(3, 1)));
            assertTrue(e.getMessage().startsWith("gather") && e.getMessage().contains("I64 or I32"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Indexing.gather(t, 2, Tensor.ofLongs(new long[] {0}, 1, 1)));
            assertTrue(e.getMessage().startsWith("gather") && e.getMessage().contains("dim 2"), e.getMessage());
            e = assertThrows(TensorOpException.class, () ->
                    Indexing.scatterAdd(t, 0, Tensor.ofLongs(new long[] {0, 0}, 1, 2), Tensor.ones(1, 1)));
            assertTrue(e.getMessage().startsWith("scatterAdd") && e.getMessage().contains("[1, 2]")
                    && e.getMessage().contains("[1, 1]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () ->
                    Indexing.indexSelect(t, 0, Tensor.ofLongs(new long[] {0}, 1, 1)));
            assertTrue(e.getMessage().startsWith("indexSelect") && e.getMessage().contains("[1, 1]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () ->
                    Indexing.indexAdd(t, 0, Tensor.ofLongs(new long[] {0, 1}, 2), Tensor.ones(2, 4)));
            assertTrue(e.getMessage().startsWith("indexAdd") && e.getMessage().contains("[2, 5]")
                    && e.getMessage().contains("[2, 4]"), e.getMessage());
            Tensor bf = Tensor.zeros(DType.BF16, Device.CPU, 2, 5);
            e = assertThrows(TensorOpException.class, () ->
                    Indexing.indexAdd(t, 0, Tensor.ofLongs(new long[] {0, 1}, 2), bf));
            assertTrue(e.getMessage().startsWith("indexAdd") && e.getMessage().contains("dtype mismatch"), e.getMessage());
            Tensor flags = Tensor.ofBooleans(new boolean[] {true, false}, 2);
            e = assertThrows(TensorOpException.class, () ->
                    Indexing.indexAdd(flags, 0, Tensor.ofLongs(new long[] {0}, 1), flags.narrow(0, 0, 1)));
            assertTrue(e.getMessage().startsWith("indexAdd") && e.getMessage().contains("BOOL"), e.getMessage());
        }
    }
    @Test
    void permuteRowsGathersAndItsGradientGoesBackThroughTheInverse() {
        try (Scope s = Scope.open("permuteRows")) {
            long[] order = {3, 0, 4, 1, 2};
            long[] inverse = {1, 3, 4, 0, 2};
            float[] v = new float[10];
            for (int i = 0; i < v.length; i++) {
                v[i] = i;      // row r holds 2r, 2r+1
            }
            Tensor x = Tensor.of(v, 5, 2).requiresGrad(true);
            Tensor y = Indexing.permuteRows(x, Tensor.ofLongs(order, 5), Tensor.ofLongs(inverse, 5));
            assertArrayEquals(new float[] {6, 7, 0, 1, 8, 9, 2, 3, 4, 5}, y.toFloatArray());
            // loss = sum(y * w), w's row i = i + 1: d/dx[order[i]] = i + 1
            Tensor w = Tensor.of(new float[] {1, 1, 2, 2, 3, 3, 4, 4, 5, 5}, 5, 2);
            Reductions.sumAll(Arith.mul(y, w)).backward();
            assertArrayEquals(new float[] {2, 2, 4, 4, 5, 5, 1, 1, 3, 3}, x.grad().toFloatArray());
            // the same gradient as indexSelect's index-add backward
            Tensor x2 = Tensor.of(v, 5, 2).requiresGrad(true);
            Reductions.sumAll(Arith.mul(Indexing.indexSelect(x2, 0, Tensor.ofLongs(order, 5)), w)).backward();
            assertArrayEquals(x2.grad().toFloatArray(), x.grad().toFloatArray());

            TensorOpException e = assertThrows(TensorOpException.class,
                    () -> Indexing.permuteRows(x, Tensor.ofLongs(order, 5), Tensor.ofLongs(new long[] {0, 1}, 2)));
            assertTrue(e.getMessage().contains("permuteRows") && e.getMessage().contains("one entry per row"),
                    e.getMessage());
        }
    }
}
