package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TopKTest {
    /**
     * Naive top-k: each line stably sorted by value descending (NaN first). Returns, per output
     * position, the index along the dim and the row-major source position.
     */
    static int[][] topkRef(double[] t, long[] shape, int d, int k) {
        long[] out = shape.clone();
        out[d] = k;
        long[] lines = shape.clone();
        lines[d] = 1;
        int n = (int) shape[d];
        int[] pos = new int[RowMajor.numel(out)];
        int[] src = new int[pos.length];
        for (int l = 0; l < RowMajor.numel(lines); l++) {
            int[] idx = RowMajor.unravel(l, lines);
            Integer[] order = new Integer[n];
            int[] line = new int[n];
            for (int j = 0; j < n; j++) {
                order[j] = j;
                idx[d] = j;
                line[j] = RowMajor.ravel(idx, shape);
            }
            Arrays.sort(order, Comparator.comparingDouble((Integer j) -> {
                double v = t[line[j]];
                return Double.isNaN(v) ? Double.NEGATIVE_INFINITY : -v;
            }));
            for (int q = 0; q < k; q++) {
                idx[d] = q;
                int p = RowMajor.ravel(idx, out);
                pos[p] = order[q];
                src[p] = line[order[q]];
            }
        }
        return new int[][] {pos, src};
    }

    @Test
    void valuesAndIndicesMatchASortAlongEveryDim() {
        Random rng = new Random(1);
        long[] shape = {5, 7, 3};
        for (int dim = -3; dim < 3; dim++) {
            int d = dim < 0 ? dim + 3 : dim;
            for (int k : new int[] {0, 1, 3, (int) shape[d]}) {
                float[] v = GradCheck.random(rng, 105);
                double[] dv = new double[v.length];
                for (int i = 0; i < v.length; i++) {
                    dv[i] = v[i];
                }
                int[][] ref = topkRef(dv, shape, d, k);
                try (Scope s = Scope.open()) {
                    TopK.Result r = TopK.topk(Tensor.of(v, shape), k, dim);
                    long[] expectShape = shape.clone();
                    expectShape[d] = k;
                    assertArrayEquals(expectShape, r.values().shape());
                    assertEquals(DType.I64, r.indices().dtype());
                    long[] got = r.indices().toLongArray();
                    float[] vals = r.values().toFloatArray();
                    for (int p = 0; p < got.length; p++) {
                        assertEquals(ref[0][p], got[p], "dim " + dim + " k " + k + " at " + p);
                        assertEquals(v[ref[1][p]], vals[p], 0f);
                    }
                }
            }
        }
    }

    @Test
    void longLinesAgreeWithAFullSort() {
        Random rng = new Random(2);
        int n = 5003;
        for (int k : new int[] {1, 10, 2500, n - 1}) {
            float[] v = new float[2 * n];
            for (int i = 0; i < v.length; i++) {
                v[i] = rng.nextInt(400) / 7f;   // many ties
            }
            double[] dv = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                dv[i] = v[i];
            }
            int[][] ref = topkRef(dv, new long[] {2, n}, 1, k);
            try (Scope s = Scope.open()) {
                TopK.Result r = TopK.topk(Tensor.of(v, 2, n), k, -1);
                long[] got = r.indices().toLongArray();
                for (int p = 0; p < got.length; p++) {
                    assertEquals(ref[0][p], got[p], "k " + k + " at " + p);
                }
            }
        }
    }

    @Test
    void tiesTakeTheLowerIndexAndNanRanksFirst() {
        try (Scope s = Scope.open()) {
            TopK.Result r = TopK.topk(Tensor.of(new float[] {1, 3, 3, 2, 3}, 5), 3, 0);
            assertArrayEquals(new long[] {1, 2, 4}, r.indices().toLongArray());
            assertArrayEquals(new float[] {3, 3, 3}, r.values().toFloatArray());
            r = TopK.topk(Tensor.of(new float[] {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, -1f}, 5), 4, 0);
            assertArrayEquals(new long[] {2, 3, 0, 1}, r.indices().toLongArray());
            r = TopK.topk(Tensor.of(new float[] {-0f, 0f}, 2), 2, 0);
            assertArrayEquals(new long[] {0, 1}, r.indices().toLongArray(), "-0.0 and 0.0 tie");
        }
    }

    @Test
    void bf16InputGivesBf16Values() {
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.of(new float[] {0.1f, 2.5f, -1f, 7.75f, 2.5f, 3f}, 2, 3).to(DType.BF16);
            TopK.Result r = TopK.topk(t, 2, 1);
            assertEquals(DType.BF16, r.values().dtype());
            assertArrayEquals(new long[] {1, 0, 0, 2}, r.indices().toLongArray());
            assertArrayEquals(new float[] {2.5f, t.getFloat(0, 0), 7.75f, 3f}, r.values().toFloatArray());
        }
    }

    @Test
    void backwardScattersTheValuesGradientAndIndicesStayOutOfTheGraph() {
        long[] shape = {4, 6, 3};
        for (int dim : new int[] {1, -1, 0}) {
            int d = dim < 0 ? dim + 3 : dim;
            int k = (int) shape[d] - 1;
            GradCheck.check("topk dim " + dim, t -> TopK.topk(t[0], k, dim).values(), in -> {
                int[][] ref = topkRef(in[0], shape, d, k);
                double[] o = new double[ref[1].length];
                for (int p = 0; p < o.length; p++) {
                    o[p] = in[0][ref[1][p]];
                }
                return o;
            }, new long[][] {shape}, 40 + d);
        }
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, 5, 3}, 3).requiresGrad(true);
            TopK.Result r = TopK.topk(x, 2, 0);
            assertTrue(r.values().requiresGrad());
            assertFalse(r.indices().requiresGrad());
            r.values().backward(Tensor.of(new float[] {10, 20}, 2));
            assertArrayEquals(new float[] {0, 10, 20}, x.grad().toFloatArray());
        }
    }

    @Test
    void badInputsNameTheOpAndShape() {
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.zeros(3, 5);
            TensorOpException e = assertThrows(TensorOpException.class, () -> TopK.topk(t, 6, 1));
            assertTrue(e.getMessage().startsWith("topk") && e.getMessage().contains("k = 6")
                    && e.getMessage().contains("[3, 5]") && e.getMessage().contains("0..5"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> TopK.topk(t, -1, 0));
            assertTrue(e.getMessage().startsWith("topk") && e.getMessage().contains("k = -1"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> TopK.topk(t, 1, 2));
            assertTrue(e.getMessage().startsWith("topk") && e.getMessage().contains("dim 2"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> TopK.topk(Tensor.ofLongs(new long[] {1, 2}, 2), 1, 0));
            assertTrue(e.getMessage().startsWith("topk") && e.getMessage().contains("I64"), e.getMessage());
        }
    }
}
