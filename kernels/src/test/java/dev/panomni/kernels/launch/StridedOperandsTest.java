package dev.panomni.kernels.launch;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StridedOperandsTest {
    @Test
    void contiguousOperandsMergeIntoOneDim() {
        StridedOperands s = StridedOperands.of(new long[] {2, 3, 4}, new long[] {12, 4, 1}, new long[] {12, 4, 1});
        assertArrayEquals(new long[] {24}, s.shape());
        assertArrayEquals(new long[] {1}, s.strides(0));
        assertTrue(s.isContiguous(1));
    }

    @Test
    void transposedOperandKeepsDimsApart() {
        // src is the transpose of a [4, 3] matrix, dst contiguous [3, 4].
        StridedOperands s = StridedOperands.of(new long[] {3, 4}, new long[] {1, 3}, new long[] {4, 1});
        assertArrayEquals(new long[] {3, 4}, s.shape());
        assertArrayEquals(new long[] {1, 3}, s.strides(0));
        assertArrayEquals(new long[] {4, 1}, s.strides(1));
    }

    @Test
    void broadcastDimsMergeOnlyWhereEveryOperandAllows() {
        // a [5, 6, 7] expanded from [5, 1, 7]; out contiguous.
        StridedOperands s = StridedOperands.of(new long[] {5, 6, 7}, new long[] {7, 0, 1}, new long[] {42, 7, 1});
        assertEquals(3, s.rank());
        assertArrayEquals(new long[] {7, 0, 1}, s.strides(0));
        // b is a scalar broadcast everywhere: all strides 0 merge into one dim.
        StridedOperands t = StridedOperands.of(new long[] {5, 6, 7}, new long[] {0, 0, 0}, new long[] {42, 7, 1});
        assertArrayEquals(new long[] {210}, t.shape());
        assertArrayEquals(new long[] {0}, t.strides(0));
    }

    @Test
    void sizeOneDimsVanishAndScalarsHaveRankZero() {
        StridedOperands s = StridedOperands.of(new long[] {1, 5, 1}, new long[] {99, 2, 77});
        assertArrayEquals(new long[] {5}, s.shape());
        assertArrayEquals(new long[] {2}, s.strides(0));
        StridedOperands scalar = StridedOperands.of(new long[] {}, new long[] {});
        assertEquals(0, scalar.rank());
        assertTrue(scalar.isContiguous(0));
    }

    @Test
    void tooManyDimsAfterMergingIsAClearError() {
        long[] shape = new long[10];
        long[] strides = new long[10];
        long st = 1;
        for (int d = 9; d >= 0; d--) {
            shape[d] = 2;
            strides[d] = st;
            st *= 3; // gaps everywhere: nothing merges
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StridedOperands.of(shape, strides));
        assertTrue(e.getMessage().contains("contiguous"), e.getMessage());
    }
}
