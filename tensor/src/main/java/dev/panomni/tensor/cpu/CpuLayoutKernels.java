package dev.panomni.tensor.cpu;

import dev.panomni.tensor.BFloat16;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.HostElements;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.LayoutKernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** CPU fill and strided, converting copy. */
final class CpuLayoutKernels implements LayoutKernels {
    private static final long GRAIN = 1 << 15;

    @Override
    public void fill(Tensor dst, double value) {
        MemorySegment seg = dst.storage().segment();
        DType dt = dst.dtype();
        long[] shape = dst.shape();
        long[] st = dst.strides();
        long n = dst.numel();
        if (dst.isContiguous() && dt == DType.F32) {
            long base = dst.offset() * 4;
            float v = (float) value;
            CpuParallel.forRange(n, GRAIN, (s, e) -> seg.asSlice(base + s * 4, (e - s) * 4).fill((byte) 0)
            );
            if (v != 0f) {
                CpuParallel.forRange(n, GRAIN, (s, e) -> {
                    for (long i = s; i < e; i++) {
                        seg.setAtIndex(ValueLayout.JAVA_FLOAT, dst.offset() + i, v);
                    }
                });
            }
            return;
        }
        CpuParallel.forRange(n, GRAIN, (from, to) -> StridedWalk.walk(shape, st, dst.offset(), null, 0, from, to,
                (out, oa, ob, len) -> {
                    long inner = st.length == 0 ? 0 : st[st.length - 1];
                    for (long k = 0; k < len; k++) {
                        if (dt.isFloating()) {
                            HostElements.setFloat(seg, dt, oa + k * inner, (float) value);
                        } else {
                            HostElements.setLong(seg, dt, oa + k * inner, (long) value);
                        }
                    }
                }));
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        MemorySegment ss = src.storage().segment();
        MemorySegment ds = dst.storage().segment();
        DType st = src.dtype();
        DType dt = dst.dtype();
        long n = dst.numel();
        if (st == dt && src.isContiguous() && dst.isContiguous()) {
            long bs = st.byteSize();
            CpuParallel.forRange(n, GRAIN, (s, e) -> MemorySegment.copy(ss, (src.offset() + s) * bs, ds,
                    (dst.offset() + s) * bs, (e - s) * bs));
            return;
        }
        long[] shape = dst.shape();
        long[] sStr = src.strides();
        long[] dStr = dst.strides();
        long si = sStr.length == 0 ? 0 : sStr[sStr.length - 1];
        long di = dStr.length == 0 ? 0 : dStr[dStr.length - 1];
        boolean integral = !st.isFloating() && !dt.isFloating();
        long eb = st.byteSize();
        CpuParallel.forRange(n, GRAIN, (from, to) -> StridedWalk.walk(shape, sStr, src.offset(), dStr, dst.offset(),
                from, to, (out, oa, ob, len) -> {
                    if (st == dt && si == 1 && di == 1) {
                        // Same dtype, unit-stride run (narrowed windows of concat, slices): a block copy.
                        MemorySegment.copy(ss, oa * eb, ds, ob * eb, len * eb);
                    } else if (st == DType.F32 && dt == DType.BF16) {
                        for (long k = 0; k < len; k++) {
                            ds.setAtIndex(ValueLayout.JAVA_SHORT, ob + k * di,
                                    BFloat16.fromFloat(ss.getAtIndex(ValueLayout.JAVA_FLOAT, oa + k * si)));
                        }
                    } else if (st == DType.BF16 && dt == DType.F32) {
                        for (long k = 0; k < len; k++) {
                            ds.setAtIndex(ValueLayout.JAVA_FLOAT, ob + k * di,
                                    BFloat16.toFloat(ss.getAtIndex(ValueLayout.JAVA_SHORT, oa + k * si)));
                        }
                    } else if (st == DType.F32 && dt == DType.F32) {
                        for (long k = 0; k < len; k++) {
                            ds.setAtIndex(ValueLayout.JAVA_FLOAT, ob + k * di, ss.getAtIndex(ValueLayout.JAVA_FLOAT, oa + k * si));
                        }
                    } else if (integral) {
                        for (long k = 0; k < len; k++) {
                            HostElements.setLong(ds, dt, ob + k * di, HostElements.getLong(ss, st, oa + k * si));
                        }
                    } else {
                        for (long k = 0; k < len; k++) {
                            HostElements.setFloat(ds, dt, ob + k * di, HostElements.getFloat(ss, st, oa + k * si));
                        }
                    }
                }));
    }
}
