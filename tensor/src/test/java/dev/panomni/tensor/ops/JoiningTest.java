package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JoiningTest {
    /** Naive concat of row-major inputs along dim d. */
    static GradCheck.Reference concatRef(long[][] shapes, int d) {
        long[] out = shapes[0].clone();
        out[d] = 0;
        for (long[] s : shapes) {
            out[d] += s[d];
        }
        return in -> {
            double[] o = new double[RowMajor.numel(out)];
            for (int p = 0; p < o.length; p++) {
                int[] idx = RowMajor.unravel(p, out);
                int i = 0;
                int at = idx[d];
                while (at >= shapes[i][d]) {
                    at -= (int) shapes[i][d];
                    i++;
                }
                idx[d] = at;
                o[p] = in[i][RowMajor.ravel(idx, shapes[i])];
            }
            return o;
        };
    }

    @Test
    void concatMatchesReferenceAndFiniteDifferences() {
        long[][] shapes = {{3, 2, 5}, {3, 4, 5}, {3, 1, 5}};
        GradCheck.check("concat dim 1", t -> Joining.concat(t, 1), concatRef(shapes, 1), shapes, 1);
        GradCheck.check("concat dim -2", t -> Joining.concat(List.of(t), -2), concatRef(shapes, 1), shapes, 2);
        long[][] last = {{2, 3}, {2, 1}, {2, 4}};
        GradCheck.check("concat dim -1", t -> Joining.concat(t, -1), concatRef(last, 1), last, 3);
        long[][] first = {{1, 3}, {4, 3}};
        GradCheck.check("concat dim 0", t -> Joining.concat(t, 0), concatRef(first, 0), first, 4);
    }

    @Test
    void concatReadsStridedInputsAndKeepsIntegerAndBf16Bits() {
        try (Scope s = Scope.open()) {
            // Transposed view [3, 2] of [[1, 2, 3], [4, 5, 6]].
            Tensor a = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).transpose(0, 1);
            Tensor b = Tensor.of(new float[] {7, 8}, 1, 2);
            Tensor c = Joining.concat(new Tensor[] {a, b}, 0);
            assertArrayEquals(new long[] {4, 2}, c.shape());
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6, 7, 8}, c.toFloatArray());

            long big = (1L << 53) + 1;
            Tensor i = Tensor.ofLongs(new long[] {big, -3}, 2);
            Tensor j = Tensor.ofLongs(new long[] {5}, 1);
            assertArrayEquals(new long[] {big, -3, 5}, Joining.concat(List.of(i, j), 0).toLongArray());

            Tensor h = Tensor.of(new float[] {1.5f, -2.25f}, 2).to(DType.BF16);
            Tensor k = Tensor.of(new float[] {3.0f}, 1).to(DType.BF16);
            Tensor hk = Joining.concat(new Tensor[] {h, k}, 0);
            assertEquals(DType.BF16, hk.dtype());
            assertArrayEquals(new float[] {1.5f, -2.25f, 3.0f}, hk.toFloatArray());
        }
    }

    @Test
    void concatOfAnEmptyPieceAndOfOneTensor() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
            Tensor e = Tensor.empty(2, 0);
            assertArrayEquals(new float[] {1, 2, 3, 4}, Joining.concat(new Tensor[] {e, a, e}, 1).toFloatArray());
            Tensor one = Joining.concat(new Tensor[] {a}, 0);
            assertArrayEquals(a.toFloatArray(), one.toFloatArray());
        }
    }

    @Test
    void splitGivesViewsAndItsGradientFillsUnusedPiecesWithZeros() {
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.of(new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, 2, 7);
            Tensor[] p = Joining.split(t, new long[] {2, 0, 4, 1}, -1);
            assertEquals(4, p.length);
            assertArrayEquals(new long[] {2, 0}, p[1].shape());
            assertArrayEquals(new float[] {0, 1, 7, 8}, p[0].toFloatArray());
            assertArrayEquals(new float[] {2, 3, 4, 5, 9, 10, 11, 12}, p[2].toFloatArray());
            assertArrayEquals(new float[] {6, 13}, p[3].toFloatArray());
            assertFalse(p[2].isContiguous());
            assertTrue(p[2].storage() == t.storage(), "pieces share the input's storage");
        }
        long[][] shape = {{3, 7}};
        // Uses pieces 2 and 0 (in that order); piece 1 and 3 get no gradient.
        GradCheck.check("split", t -> {
            Tensor[] p = Joining.split(t[0], new long[] {2, 1, 3, 1}, 1);
            return Joining.concat(new Tensor[] {Arith.mulScalar(p[2], 2.0), p[0]}, 1);
        }, in -> {
            double[] o = new double[3 * 5];
            for (int r = 0; r < 3; r++) {
                for (int c = 0; c < 3; c++) {
                    o[r * 5 + c] = 2.0 * in[0][r * 7 + 3 + c];
                }
                for (int c = 0; c < 2; c++) {
                    o[r * 5 + 3 + c] = in[0][r * 7 + c];
                }
            }
            return o;
        }, shape, 5);
    }

    @Test
    void stackMatchesReferenceAtEveryPosition() {
        long[][] shapes = {{2, 3}, {2, 3}, {2, 3}};
        for (int dim = -3; dim <= 2; dim++) {
            int d = dim < 0 ? dim + 3 : dim;
            long[] out = new long[3];
            for (int i = 0, k = 0; i < 3; i++) {
                out[i] = i == d ? 3 : shapes[0][k++];
            }
            int fd = dim;
            GradCheck.check("stack dim " + dim, t -> Joining.stack(t, fd), in -> {
                double[] o = new double[RowMajor.numel(out)];
                for (int p = 0; p < o.length; p++) {
                    int[] idx = RowMajor.unravel(p, out);
                    int which = idx[d];
                    int[] src = new int[2];
                    for (int i = 0, k = 0; i < 3; i++) {
                        if (i != d) {
                            src[k++] = idx[i];
                        }
                    }
                    o[p] = in[which][RowMajor.ravel(src, shapes[0])];
                }
                return o;
            }, shapes, 10 + d);
        }
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.scalar(1);
            Tensor b = Tensor.scalar(2);
            Tensor st = Joining.stack(List.of(a, b), 0);
            assertArrayEquals(new long[] {2}, st.shape());
            assertArrayEquals(new float[] {1, 2}, st.toFloatArray());
        }
    }

    @Test
    void badInputsNameTheOpAndShapes() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.zeros(2, 3);
            Tensor b = Tensor.zeros(4, 5);
            TensorOpException e = assertThrows(TensorOpException.class, () -> Joining.concat(new Tensor[] {a, b}, 0));
            assertTrue(e.getMessage().startsWith("concat") && e.getMessage().contains("[2, 3]")
                    && e.getMessage().contains("[4, 5]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Joining.concat(List.of(), 0));
            assertTrue(e.getMessage().startsWith("concat") && e.getMessage().contains("at least one"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Joining.concat(new Tensor[] {a, Tensor.zeros(2)}, 0));
            assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[2]"), e.getMessage());
            Tensor c = Tensor.zeros(DType.BF16, Device.CPU, 2, 3);
            e = assertThrows(TensorOpException.class, () -> Joining.concat(new Tensor[] {a, c}, 0));
            assertTrue(e.getMessage().startsWith("concat") && e.getMessage().contains("dtype mismatch"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Joining.concat(new Tensor[] {a, a}, 2));
            assertTrue(e.getMessage().startsWith("concat") && e.getMessage().contains("dim 2"), e.getMessage());

            e = assertThrows(TensorOpException.class, () -> Joining.split(a, new long[] {1, 1}, 1));
            assertTrue(e.getMessage().startsWith("split") && e.getMessage().contains("[1, 1]")
                    && e.getMessage().contains("[2, 3]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Joining.split(a, new long[] {4, -1}, 1));
            assertTrue(e.getMessage().startsWith("split") && e.getMessage().contains(">= 0"), e.getMessage());

            e = assertThrows(TensorOpException.class, () -> Joining.stack(new Tensor[] {a, b}, 0));
            assertTrue(e.getMessage().startsWith("stack") && e.getMessage().contains("[2, 3]")
                    && e.getMessage().contains("[4, 5]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Joining.stack(new Tensor[] {a, a}, 3));
            assertTrue(e.getMessage().startsWith("stack") && e.getMessage().contains("dim 3"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Joining.stack(new Tensor[0], 0));
            assertTrue(e.getMessage().startsWith("stack"), e.getMessage());
        }
    }
}
