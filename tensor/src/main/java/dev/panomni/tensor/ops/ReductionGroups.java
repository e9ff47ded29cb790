package dev.panomni.tensor.ops;

import java.util.ArrayList;
import java.util.List;

/**
 * A contiguous tensor's dims merged into runs of kept and of reduced dims (extent-1 dims dropped),
 * with the sizes and element strides of each run in order: the shape every backend's reduction
 * kernel plans its loops from.
 *
 * @param innermostReduced whether the last run is reduced (also true when no run is left: a single
 *                         element)
 */
public record ReductionGroups(long[] keptSize, long[] keptStride, long[] redSize, long[] redStride,
                              boolean innermostReduced) {
    /** Groups of a contiguous tensor of {@code shape} reduced over the dims flagged in {@code reduce}. */
    public static ReductionGroups of(long[] shape, boolean[] reduce) {
        List<long[]> merged = new ArrayList<>(); // {size, reduced flag}
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == 1) {
                continue;
            }
            long flag = reduce[d] ? 1 : 0;
            if (!merged.isEmpty() && merged.getLast()[1] == flag) {
                merged.getLast()[0] *= shape[d];
            } else {
                merged.add(new long[] {shape[d], flag});
            }
        }
        int n = merged.size();
        long[] stride = new long[n];
        long acc = 1;
        for (int i = n - 1; i >= 0; i--) {
            stride[i] = acc;
            acc *= merged.get(i)[0];
        }
        int nk = 0;
        for (long[] m : merged) {
            nk += m[1] == 0 ? 1 : 0;
        }
        long[] ks = new long[nk];
        long[] kst = new long[nk];
        long[] rs = new long[n - nk];
        long[] rst = new long[n - nk];
        for (int i = 0, a = 0, b = 0; i < n; i++) {
            if (merged.get(i)[1] == 0) {
                ks[a] = merged.get(i)[0];
                kst[a++] = stride[i];
            } else {
                rs[b] = merged.get(i)[0];
                rst[b++] = stride[i];
            }
        }
        return new ReductionGroups(ks, kst, rs, rst, n == 0 || merged.get(n - 1)[1] == 1);
    }
}
