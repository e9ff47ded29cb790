package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SelectionTest {
    static boolean[] randomMask(Random rng, long n) {
        boolean[] m = new boolean[(int) n];
        for (int i = 0; i < m.length; i++) {
            m[i] = rng.nextBoolean();
        }
        return m;
    }

    /** Position in a broadcast input of shape {@code s} for output position {@code p} of {@code out}. */
    static int src(int p, long[] out, long[] s) {
        return (int) ArithTest.src(p, out, s);
    }

    @Test
    void whereBroadcastsAllThreeAndMatchesFiniteDifferences() {
        Random rng = new Random(1);
        long[][][] cases = {
            {{3, 1, 5}, {4, 1}, {5}},
            {{6, 7}, {6, 7}, {6, 7}},
            {{9}, {}, {9}},
            {{}, {2, 3}, {1, 3}},
            {{2, 1, 33}, {2, 4, 33}, {}},   // runs long enough for the vector path
        };
        int seed = 1;
        for (long[][] c : cases) {
            long[] cs = c[0];
            long[] as = c[1];
            long[] bs = c[2];
            long[] out = Shapes.broadcast("t", Shapes.broadcast("t", cs, as), bs);
            boolean[] mask = randomMask(rng, Shapes.numel(cs));
            GradCheck.check("where " + java.util.Arrays.deepToString(c),
                    t -> Selection.where(Tensor.ofBooleans(mask, cs), t[0], t[1]), in -> {
                        double[] o = new double[RowMajor.numel(out)];
                        for (int p = 0; p < o.length; p++) {
                            o[p] = mask[src(p, out, cs)] ? in[0][src(p, out, as)] : in[1][src(p, out, bs)];
                        }
                        return o;
                    }, new long[][] {as, bs}, seed++);
        }
    }

    @Test
    void whereMovesEveryDtypeExactlyAndReadsStridedInputs() {
        try (Scope s = Scope.open()) {
            Tensor cond = Tensor.ofBooleans(new boolean[] {true, false, false, true}, 4);
            long big = (1L << 62) + 1;
            Tensor a = Tensor.ofLongs(new long[] {big, 2, 3, 4}, 4);
            Tensor b = Tensor.ofLongs(new long[] {-1, -2, -big, -4}, 4);
            assertArrayEquals(new long[] {big, -2, -big, 4}, Selection.where(cond, a, b).toLongArray());

            Tensor h = Tensor.of(new float[] {1.5f, 2.5f, 3.5f, 4.5f}, 4).to(DType.F16);
            Tensor zero = Tensor.zeros(DType.F16, Device.CPU);
            Tensor hw = Selection.where(cond, zero, h);
            assertEquals(DType.F16, hw.dtype());
            assertArrayEquals(new float[] {0, 2.5f, 3.5f, 0}, hw.toFloatArray());

            Tensor flags = Selection.where(cond, Tensor.ofBooleans(new boolean[] {false}, 1),
                    Tensor.ofBooleans(new boolean[] {true}, 1));
            assertArrayEquals(new long[] {0, 1, 1, 0}, flags.toLongArray());

            // Transposed operands: a [3, 2] from [[1, 2, 3], [4, 5, 6]].
            Tensor at = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).transpose(0, 1);
            Tensor ct = Tensor.ofBooleans(new boolean[] {true, false, true, true, false, false}, 2, 3).transpose(0, 1);
            assertArrayEquals(new float[] {1, 4, -1, -1, 3, -1},
                    Selection.where(ct, at, Tensor.scalar(-1)).toFloatArray());
        }
    }

    @Test
    void maskedFillBroadcastsTheMaskAndZeroesTheFilledGradient() {
        Random rng = new Random(2);
        long[] ts = {3, 4, 5};
        long[][] masks = {{4, 1}, {3, 4, 5}, {5}, {}};
        int seed = 10;
        for (long[] ms : masks) {
            boolean[] mask = randomMask(rng, Shapes.numel(ms));
            GradCheck.check("maskedFill " + java.util.Arrays.toString(ms),
                    t -> Selection.maskedFill(t[0], Tensor.ofBooleans(mask, ms), 0.75), in -> {
                        double[] o = new double[60];
                        for (int p = 0; p < 60; p++) {
                            o[p] = mask[src(p, ts, ms)] ? 0.75 : in[0][p];
                        }
                        return o;
                    }, new long[][] {ts}, seed++);
        }
        try (Scope s = Scope.open()) {
            // A causal mask over scores, filled with -inf, in BF16 and as integers.
            boolean[] upper = new boolean[9];
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 3; j++) {
                    upper[i * 3 + j] = j > i;
                }
            }
            Tensor mask = Tensor.ofBooleans(upper, 3, 3);
            Tensor scores = Tensor.ones(2, 3, 3).to(DType.BF16);
            float[] got = Selection.maskedFill(scores, mask, Double.NEGATIVE_INFINITY).toFloatArray();
            for (int p = 0; p < 18; p++) {
                assertEquals(upper[p % 9] ? Float.NEGATIVE_INFINITY : 1f, got[p]);
            }
            Tensor ids = Tensor.ofLongs(new long[] {5, 6, 7}, 3);
            assertArrayEquals(new long[] {5, -100, 7}, Selection.maskedFill(ids,
                    Tensor.ofBooleans(new boolean[] {false, true, false}, 3), -100).toLongArray());
        }
    }

    @Test
    void badInputsNameTheOpAndShapes() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.zeros(2, 3);
            Tensor cond = Tensor.ofBooleans(new boolean[] {true, false, true, false}, 4);
            TensorOpException e = assertThrows(TensorOpException.class, () -> Selection.where(cond, a, a));
            assertTrue(e.getMessage().startsWith("where") && e.getMessage().contains("[4]")
                    && e.getMessage().contains("[2, 3]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Selection.where(Tensor.zeros(2, 3), a, a));
            assertTrue(e.getMessage().startsWith("where") && e.getMessage().contains("BOOL")
                    && e.getMessage().contains("F32"), e.getMessage());
            Tensor bf = Tensor.zeros(DType.BF16, Device.CPU, 2, 3);
            Tensor c2 = Tensor.ofBooleans(new boolean[] {true}, 1);
            e = assertThrows(TensorOpException.class, () -> Selection.where(c2, a, bf));
            assertTrue(e.getMessage().startsWith("where") && e.getMessage().contains("dtype mismatch"), e.getMessage());

            Tensor big = Tensor.ofBooleans(new boolean[6], 1, 2, 3);
            e = assertThrows(TensorOpException.class, () -> Selection.maskedFill(a, big, 0));
            assertTrue(e.getMessage().startsWith("maskedFill") && e.getMessage().contains("[1, 2, 3]")
                    && e.getMessage().contains("[2, 3]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Selection.maskedFill(a, cond, 0));
            assertTrue(e.getMessage().startsWith("maskedFill") && e.getMessage().contains("[4]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () ->
                    Selection.maskedFill(a, Tensor.ofLongs(new long[] {1}, 1), 0));
            assertTrue(e.getMessage().startsWith("maskedFill") && e.getMessage().contains("BOOL"), e.getMessage());
        }
    }
}
