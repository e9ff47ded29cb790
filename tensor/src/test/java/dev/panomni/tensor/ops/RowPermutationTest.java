package dev.panomni.tensor.ops;

import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RowPermutationTest {
    private static final long[] ORDER = {3, 0, 4, 1, 2};

    private static Tensor rows() {
        float[] v = new float[5 * 2];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;          // row r holds 2r, 2r+1
        }
        return Tensor.of(v, 5, 2);
    }

    @Test
    void applyGathersByOrderAndInverseUndoesIt() {
        try (Scope s = Scope.open("perm")) {
            RowPermutation p = RowPermutation.of(ORDER, Device.CPU);
            Tensor x = rows();
            Tensor y = p.apply(x);
            assertArrayEquals(new float[] {6, 7, 0, 1, 8, 9, 2, 3, 4, 5}, y.toFloatArray());
            assertArrayEquals(x.toFloatArray(), p.applyInverse(y).toFloatArray());
        }
    }

    @Test
    void gradientsArePermutedBack() {
        try (Scope s = Scope.open("permGrad")) {
            RowPermutation p = RowPermutation.of(ORDER, Device.CPU);
            Tensor x = rows().requiresGrad(true);
            // loss = sum(apply(x) * w) with w[i] = i + 1 per row: d loss / d x[order[i]] = i + 1
            Tensor w = Tensor.of(new float[] {1, 1, 2, 2, 3, 3, 4, 4, 5, 5}, 5, 2);
            Reductions.sumAll(Arith.mul(p.apply(x), w)).backward();
            assertArrayEquals(new float[] {2, 2, 4, 4, 5, 5, 1, 1, 3, 3}, x.grad().toFloatArray());
            Tensor z = rows().requiresGrad(true);
            Reductions.sumAll(Arith.mul(p.applyInverse(z), w)).backward();
            // applyInverse: out[order[i]] = z[i], so d/dz[i] = w[order[i]]
            assertArrayEquals(new float[] {4, 4, 1, 1, 5, 5, 2, 2, 3, 3}, z.grad().toFloatArray());
        }
    }

    @Test
    void rejectsWhatIsNotAPermutation() {
        TensorOpException dup = assertThrows(TensorOpException.class,
                () -> RowPermutation.of(new long[] {0, 2, 2}, Device.CPU));
        assertTrue(dup.getMessage().contains("entry 2 is 2"), dup.getMessage());
        TensorOpException range = assertThrows(TensorOpException.class,
                () -> RowPermutation.of(new long[] {0, 3, 1}, Device.CPU));
        assertTrue(range.getMessage().contains("exactly once"), range.getMessage());
        try (Scope s = Scope.open("permShape")) {
            RowPermutation p = RowPermutation.of(ORDER, Device.CPU);
            TensorOpException rows = assertThrows(TensorOpException.class, () -> p.apply(Tensor.of(new float[4], 4)));
            assertTrue(rows.getMessage().contains("5 rows"), rows.getMessage());
        }
    }
}
