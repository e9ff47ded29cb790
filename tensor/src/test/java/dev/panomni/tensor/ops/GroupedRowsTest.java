package dev.panomni.tensor.ops;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The grouped-rows pair against index-select and index-add, forward and backward, on a routing where
 * some choices are missing (their expert is elsewhere), from the counting sort's reverse map.
 */
class GroupedRowsTest {
    private static final int TOKENS = 9;
    private static final int K = 3;
    private static final int HIDDEN = 5;

    @Test
    void selectAndSumAgreeWithIndexSelectAndIndexAddBothWays() {
        Random rnd = new Random(11);
        long[] keys = new long[TOKENS * K];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = rnd.nextInt(6);
        }
        float[] x = new float[TOKENS * HIDDEN];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        try (Scope s = Scope.open("grouped rows")) {
            // Experts 1..4 are routed here; choices of 0 and 5 are missing.
            CountingSort.Result r = CountingSort.sort(Tensor.ofLongs(keys, TOKENS, K), 1, 4);
            long m = r.listed();
            assertTrue(m < TOKENS * K && m > 0, "the test needs missing and present choices");
            float[] scale = new float[(int) m];
            for (int i = 0; i < scale.length; i++) {
                scale[i] = 0.5f + i;
            }
            Tensor sc = Tensor.of(scale, (int) m).unsqueeze(1);
            float[] up = new float[TOKENS * HIDDEN];
            for (int i = 0; i < up.length; i++) {
                up[i] = (float) rnd.nextGaussian();
            }
            Tensor upstream = Tensor.of(up, TOKENS, HIDDEN);

            Tensor a = Tensor.of(x, TOKENS, HIDDEN).requiresGrad(true);
            Tensor viaGroups = GroupedRows.sum(Arith.mul(GroupedRows.select(a, r.row(), r.slot()), sc), r.slot(), r.row());
            Reductions.sumAll(Arith.mul(viaGroups, upstream)).backward();

            Tensor b = Tensor.of(x, TOKENS, HIDDEN).requiresGrad(true);
            Tensor viaIndex = Indexing.indexAdd(Tensor.zeros(b.dtype(), b.device(), b.shape()), 0, r.row(),
                    Arith.mul(Indexing.indexSelect(b, 0, r.row()), sc));
            Reductions.sumAll(Arith.mul(viaIndex, upstream)).backward();

            assertArrayEquals(viaIndex.toFloatArray(), viaGroups.toFloatArray(), 1e-5f, "forward");
            assertArrayEquals(b.grad().toFloatArray(), a.grad().toFloatArray(), 1e-5f, "backward");
        }
    }

    @Test
    void refusesMembersOfTheWrongShape() {
        try (Scope s = Scope.open("grouped rows")) {
            Tensor t = Tensor.zeros(dev.panomni.tensor.DType.F32, dev.panomni.tensor.Device.CPU, 4, 2);
            Tensor owner = Tensor.ofLongs(new long[] {0, 1, 1, 2}, 4);
            Tensor members = Tensor.ofLongs(new long[] {0, 1, 2, 3}, 4);
            dev.panomni.tensor.TensorOpException e = assertThrows(dev.panomni.tensor.TensorOpException.class,
                    () -> GroupedRows.sum(t, members, owner));
            assertTrue(e.getMessage().contains("expected owner [rows] and members"), e.getMessage());
        }
    }
}
