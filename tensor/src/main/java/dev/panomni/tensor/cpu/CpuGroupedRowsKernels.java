package dev.panomni.tensor.cpu;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.GroupedRowsKernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** CPU grouped-rows sum (F32): each group's members added in list order; groups in parallel. */
final class CpuGroupedRowsKernels implements GroupedRowsKernels {
    private static final long GRAIN = 1 << 14;

    @Override
    public void sum(Tensor t, Tensor members, Tensor out) {
        long m = t.size(0);
        long groups = members.size(0);
        int per = Math.toIntExact(members.size(1));
        long outWidth = out.numel() / Math.max(1, groups);
        MemorySegment ts = t.storage().segment();
        MemorySegment ms = members.storage().segment();
        MemorySegment os = out.storage().segment();
        long to = t.offset();
        long mo = members.offset();
        long oo = out.offset();
        CpuParallel.forRange(groups, Math.max(1, GRAIN / Math.max(1, outWidth * per)), (from, until) -> {
            float[] acc = new float[(int) outWidth];
            for (long g = from; g < until; g++) {
                java.util.Arrays.fill(acc, 0f);
                for (int j = 0; j < per; j++) {
                    long r = ms.getAtIndex(ValueLayout.JAVA_LONG, mo + g * per + j);
                    if (r < m) {
                        for (int c = 0; c < outWidth; c++) {
                            acc[c] += ts.getAtIndex(ValueLayout.JAVA_FLOAT, to + r * outWidth + c);
                        }
                    }
                }
                for (int c = 0; c < outWidth; c++) {
                    os.setAtIndex(ValueLayout.JAVA_FLOAT, oo + g * outWidth + c, acc[c]);
                }
            }
        });
    }
}
