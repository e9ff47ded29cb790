package dev.panomni.kernels;

import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.CountingSort;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.panomni.kernels.CudaTestSupport.CUDA;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The CUDA counting sort (counting_sort.cu) against the CPU backend's, entry for entry. */
@Tag("gpu")
class CudaCountingSortGpuTest {

    @BeforeEach
    void requireGpu() {
        CudaTestSupport.assumeGpu();
    }

    @Test
    void matchesTheCpuSortOnRoutingShapes() {
        Random rnd = new Random(3);
        // rows x cols, key range [lo, lo + buckets), keys drawn from [0, span): a 16K-token top-8 layer
        // over 64 experts, its ep-2 half of a gathered batch, odd sizes, one bucket, empty input.
        int[][] cases = {{16_384, 8, 0, 64, 64}, {32_768, 8, 32, 32, 64}, {1_001, 3, 5, 7, 20}, {4_097, 1, 0, 1, 2},
            {0, 8, 0, 4, 4}, {513, 8, 0, 128, 128}};
        for (int[] c : cases) {
            int rows = c[0];
            int cols = c[1];
            long[] keys = new long[rows * cols];
            for (int i = 0; i < keys.length; i++) {
                keys[i] = rnd.nextInt(c[4]);
            }
            String what = rows + "x" + cols + " keys [" + c[2] + ", +" + c[3] + ")";
            try (Scope s = Scope.open("csort")) {
                Tensor host = Tensor.ofLongs(keys, rows, cols);
                CountingSort.Result want = CountingSort.sort(host, c[2], c[3]);
                CountingSort.Result got = CountingSort.sort(host.to(CUDA), c[2], c[3]);
                assertArrayEquals(want.counts(), got.counts(), what + " counts");
                assertArrayEquals(want.flat().toLongArray(), got.flat().to(Device.CPU).toLongArray(), what + " order");
                assertArrayEquals(want.row().toLongArray(), got.row().to(Device.CPU).toLongArray(), what + " rows");
                assertArrayEquals(want.slot().toLongArray(), got.slot().to(Device.CPU).toLongArray(), what + " slots");
                assertArrayEquals(want.counts(), CountingSort.counts(host.to(CUDA), c[2], c[3]).to(Device.CPU)
                        .toLongArray(), what + " device counts");
            }
        }
    }
}
