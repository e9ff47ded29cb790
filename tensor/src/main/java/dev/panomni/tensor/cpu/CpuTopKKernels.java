package dev.panomni.tensor.cpu;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.TopKKernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * CPU top-k. Each line becomes an array of long keys that order by (value descending, index
 * ascending) as plain signed longs, so one primitive quickselect plus a sort of the first k keys
 * gives the sorted result with ties already broken; lines run in parallel.
 */
final class CpuTopKKernels implements TopKKernels {
    private static final long GRAIN = 1 << 14;

    @Override
    public void topk(Tensor src, int dim, int k, Tensor values, Tensor indices) {
        long[] shape = src.shape();
        int n = (int) shape[dim];
        long outer = 1;
        for (int i = 0; i < dim; i++) {
            outer *= shape[i];
        }
        long inner = 1;
        for (int i = dim + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        long lines = outer * inner;
        long innerF = inner;
        MemorySegment ss = src.storage().segment();
        MemorySegment vs = values.storage().segment();
        MemorySegment is = indices.storage().segment();
        long so = src.offset();
        long vo = values.offset();
        long io = indices.offset();
        CpuParallel.forRange(lines, Math.max(1, GRAIN / Math.max(1, n)), (from, to) -> {
            long[] keys = new long[n];
            for (long line = from; line < to; line++) {
                long o = line / innerF;
                long i = line % innerF;
                long base = so + o * n * innerF + i;
                for (int j = 0; j < n; j++) {
                    keys[j] = key(ss.getAtIndex(ValueLayout.JAVA_FLOAT, base + j * innerF), j);
                }
                selectSmallest(keys, n, k);
                long outBase = o * k * innerF + i;
                for (int q = 0; q < k; q++) {
                    int j = (int) keys[q];
                    long at = outBase + q * innerF;
                    vs.setAtIndex(ValueLayout.JAVA_FLOAT, vo + at, ss.getAtIndex(ValueLayout.JAVA_FLOAT, base + j * innerF));
                    is.setAtIndex(ValueLayout.JAVA_LONG, io + at, j);
                }
            }
        });
    }

    /**
     * A key whose signed order is value descending, then index ascending. NaN maps above +inf and
     * -0.0 onto +0.0, so they rank and tie as in torch.
     */
    static long key(float v, int index) {
        int bits = Float.isNaN(v) ? 0x7FC0_0000 : v == 0f ? 0 : Float.floatToRawIntBits(v);
        int ordered = bits ^ ((bits >> 31) & 0x7FFF_FFFF);
        return ((long) ~ordered << 32) | index;
    }

    /** Leaves the k smallest of a[0..n) sorted at a[0..k) (the keys are distinct). */
    static void selectSmallest(long[] a, int n, int k) {
        if (k == 0) {
            return;
        }
        if (k >= n) {
            Arrays.sort(a, 0, n);
            return;
        }
        int lo = 0;
        int hi = n - 1;
        int target = k - 1;
        // Quickselect with a median-of-three pivot; past the budget, sort what is left (worst case n log n).
        int budget = 2 * (32 - Integer.numberOfLeadingZeros(n)) + 8;
        while (hi > lo) {
            if (budget-- == 0) {
                Arrays.sort(a, lo, hi + 1);
                break;
            }
            int mid = (lo + hi) >>> 1;
            long p = median(a[lo], a[mid], a[hi]);
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] < p) {
                    i++;
                }
                while (a[j] > p) {
                    j--;
                }
                if (i <= j) {
                    long t = a[i];
                    a[i] = a[j];
                    a[j] = t;
                    i++;
                    j--;
                }
            }
            if (target <= j) {
                hi = j;
            } else if (target >= i) {
                lo = i;
            } else {
                break;
            }
        }
        Arrays.sort(a, 0, k);
    }

    private static long median(long x, long y, long z) {
        return Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
    }
}
