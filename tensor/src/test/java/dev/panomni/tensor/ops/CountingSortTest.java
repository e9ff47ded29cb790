package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CountingSortTest {

    @Test
    void listsEntriesByKeyStablyWithTheirRows() {
        try (Scope s = Scope.open("csort")) {
            // rows of (expert, expert): token 0 -> 2, 0; token 1 -> 1, 2; token 2 -> 0, 1
            Tensor keys = Tensor.ofLongs(new long[] {2, 0, 1, 2, 0, 1}, 3, 2);
            CountingSort.Result r = CountingSort.sort(keys, 0, 3);
            assertArrayEquals(new long[] {2, 2, 2}, r.counts());
            assertArrayEquals(new long[] {1, 4, 2, 5, 0, 3}, r.flat().toLongArray(), "flat, by key then entry");
            assertArrayEquals(new long[] {0, 2, 1, 2, 0, 1}, r.row().toLongArray(), "rows");
            assertArrayEquals(new long[] {4, 0, 2, 5, 1, 3}, r.slot().toLongArray(), "each entry's place");
            assertEquals(6, r.listed());
        }
    }

    @Test
    void aKeyRangeKeepsOnlyItsKeys() {
        try (Scope s = Scope.open("csort")) {
            Tensor keys = Tensor.ofLongs(new long[] {2, 0, 1, 2, 0, 1, 3, 2}, 4, 2);
            CountingSort.Result r = CountingSort.sort(keys, 2, 2);          // keys 2 and 3
            assertArrayEquals(new long[] {3, 1}, r.counts());
            assertArrayEquals(new long[] {0, 3, 7, 6}, r.flat().toLongArray());
            assertArrayEquals(new long[] {0, 1, 3, 3}, r.row().toLongArray());
            assertArrayEquals(new long[] {0, 4, 4, 1, 4, 4, 3, 2}, r.slot().toLongArray(), "unlisted entries: 4");
            CountingSort.Result none = CountingSort.sort(keys, 10, 4);
            assertArrayEquals(new long[4], none.counts());
            assertEquals(0, none.flat().numel());
            assertArrayEquals(new long[8], none.slot().toLongArray());
        }
    }

    @Test
    void matchesAReferenceSortOnRandomKeys() {
        Random rnd = new Random(5);
        try (Scope s = Scope.open("csort")) {
            int rows = 3001;
            int cols = 8;
            long[] k = new long[rows * cols];
            for (int i = 0; i < k.length; i++) {
                k[i] = rnd.nextInt(40);
            }
            CountingSort.Result r = CountingSort.sort(Tensor.ofLongs(k, rows, cols), 8, 16);
            long[] flat = r.flat().toLongArray();
            long[] row = r.row().toLongArray();
            int at = 0;
            for (int b = 0; b < 16; b++) {
                long before = at;
                for (int i = 0; i < k.length; i++) {
                    if (k[i] == 8 + b) {
                        assertEquals(i, flat[at], "bucket " + b);
                        assertEquals(i / cols, row[at], "bucket " + b);
                        at++;
                    }
                }
                assertEquals(at - before, r.counts()[b], "count of bucket " + b);
            }
            assertEquals(at, flat.length);
        }
    }

    @Test
    void countsStayOnTheDeviceAndMatchTheSortsCounts() {
        try (Scope s = Scope.open("csort")) {
            Tensor keys = Tensor.ofLongs(new long[] {2, 0, 1, 2, 0, 1, 3, 2}, 4, 2);
            assertArrayEquals(new long[] {2, 2, 3, 1, 0}, CountingSort.counts(keys, 0, 5).toLongArray());
            assertArrayEquals(new long[] {3, 1}, CountingSort.counts(keys, 2, 2).toLongArray());
            assertArrayEquals(CountingSort.sort(keys, 1, 3).counts(), CountingSort.counts(keys, 1, 3).toLongArray());
        }
    }

    @Test
    void refusesKeysThatAreNotAnI64Matrix() {
        try (Scope s = Scope.open("csort")) {
            TensorOpException e = assertThrows(TensorOpException.class,
                    () -> CountingSort.sort(Tensor.zeros(DType.F32, dev.panomni.tensor.Device.CPU, 3, 2), 0, 4));
            assertTrue(e.getMessage().contains("keys must be I64 [rows, cols]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> CountingSort.sort(Tensor.ofLongs(new long[] {1, 2}, 2), 0, 4));
            assertTrue(e.getMessage().contains("keys must be I64 [rows, cols]"), e.getMessage());
        }
    }
}
