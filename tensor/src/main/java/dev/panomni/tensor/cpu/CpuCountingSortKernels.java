package dev.panomni.tensor.cpu;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.CountingSortKernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** CPU counting sort: one counting pass, prefix sums, one placing pass in entry order. */
final class CpuCountingSortKernels implements CountingSortKernels {

    @Override
    public void count(Tensor keys, long lo, Tensor counts) {
        store(counted(keys, lo, Math.toIntExact(counts.numel())), counts);
    }

    private static void store(long[] count, Tensor counts) {
        MemorySegment cs = counts.storage().segment();
        for (int b = 0; b < count.length; b++) {
            cs.setAtIndex(ValueLayout.JAVA_LONG, counts.offset() + b, count[b]);
        }
    }

    private static long[] counted(Tensor keys, long lo, int buckets) {
        MemorySegment ks = keys.storage().segment();
        long ko = keys.offset();
        long n = keys.numel();
        long[] count = new long[buckets];
        for (long i = 0; i < n; i++) {
            long b = ks.getAtIndex(ValueLayout.JAVA_LONG, ko + i) - lo;
            if (b >= 0 && b < buckets) {
                count[(int) b]++;
            }
        }
        return count;
    }

    @Override
    public void sort(Tensor keys, long lo, Tensor counts, Tensor flat, Tensor row, Tensor slot) {
        int buckets = Math.toIntExact(counts.numel());
        long n = keys.numel();
        long cols = keys.size(1);
        MemorySegment ks = keys.storage().segment();
        long ko = keys.offset();
        long[] count = counted(keys, lo, buckets);
        long[] next = new long[buckets];
        for (int b = 1; b < buckets; b++) {
            next[b] = next[b - 1] + count[b - 1];
        }
        MemorySegment fs = flat.storage().segment();
        MemorySegment rs = row.storage().segment();
        MemorySegment ss = slot.storage().segment();
        long listed = buckets == 0 ? 0 : next[buckets - 1] + count[buckets - 1];
        for (long i = 0; i < n; i++) {
            long b = ks.getAtIndex(ValueLayout.JAVA_LONG, ko + i) - lo;
            long at = listed;
            if (b >= 0 && b < buckets) {
                at = next[(int) b]++;
                fs.setAtIndex(ValueLayout.JAVA_LONG, flat.offset() + at, i);
                rs.setAtIndex(ValueLayout.JAVA_LONG, row.offset() + at, i / cols);
            }
            ss.setAtIndex(ValueLayout.JAVA_LONG, slot.offset() + i, at);
        }
        store(count, counts);
    }
}
