package dev.panomni.tensor.cpu;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.SelectionKernels;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * CPU where. Elements are moved as raw bits of their width, so every dtype works. Four-byte runs
 * (F32, I32) with a unit-stride condition are vectorized: the condition bytes become a lane mask
 * that blends the two sources, either of which may be a broadcast scalar (maskedFill's fill value).
 */
final class CpuSelectionKernels implements SelectionKernels {
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Bytes species with one lane per int lane, or null where no such shape exists (then scalar). */
    private static final VectorSpecies<Byte> B = byteSpeciesFor(I.length());
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final long GRAIN = 1 << 15;

    private static VectorSpecies<Byte> byteSpeciesFor(int lanes) {
        try {
            return VectorSpecies.of(byte.class, VectorShape.forBitSize(lanes * 8));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    @Override
    public void where(Tensor cond, Tensor a, Tensor b, Tensor out) {
        long[] shape = out.shape();
        int r = shape.length;
        long[] cs = cond.strides();
        long[] as = a.strides();
        long[] bs = b.strides();
        MemorySegment cm = cond.storage().segment();
        MemorySegment am = a.storage().segment();
        MemorySegment bm = b.storage().segment();
        MemorySegment om = out.storage().segment();
        int bytes = out.dtype().byteSize();
        long oo = out.offset();
        if (r == 0) {
            runScalar(cm, cond.offset(), 0, am, a.offset(), 0, bm, b.offset(), 0, om, oo, 1, bytes);
            return;
        }
        long inner = shape[r - 1];
        long ci = cs[r - 1];
        long ai = as[r - 1];
        long bi = bs[r - 1];
        CpuParallel.forRange(out.numel(), GRAIN, (from, to) -> {
            long[] idx = new long[r];
            long rem = from;
            for (int d = r - 1; d >= 0; d--) {
                idx[d] = rem % shape[d];
                rem /= shape[d];
            }
            long lin = from;
            while (lin < to) {
                long oc = cond.offset();
                long oa = a.offset();
                long ob = b.offset();
                for (int d = 0; d < r; d++) {
                    oc += idx[d] * cs[d];
                    oa += idx[d] * as[d];
                    ob += idx[d] * bs[d];
                }
                long len = Math.min(inner - idx[r - 1], to - lin);
                if (bytes == 4) {
                    run4(cm, oc, ci, am, oa, ai, bm, ob, bi, om, oo + lin, len);
                } else {
                    runScalar(cm, oc, ci, am, oa, ai, bm, ob, bi, om, oo + lin, len, bytes);
                }
                lin += len;
                idx[r - 1] += len;
                for (int d = r - 1; d > 0 && idx[d] >= shape[d]; d--) {
                    idx[d] = 0;
                    idx[d - 1]++;
                }
            }
        });
    }

    private static void run4(MemorySegment cm, long oc, long ci, MemorySegment am, long oa, long ai,
                             MemorySegment bm, long ob, long bi, MemorySegment om, long oo, long len) {
        if (ci == 0) {
            // One condition for the whole run: copy from the chosen source.
            boolean c = cm.get(ValueLayout.JAVA_BYTE, oc) != 0;
            MemorySegment sm = c ? am : bm;
            long so = c ? oa : ob;
            long si = c ? ai : bi;
            if (si == 1) {
                MemorySegment.copy(sm, so * 4, om, oo * 4, len * 4);
            } else {
                for (long k = 0; k < len; k++) {
                    om.setAtIndex(ValueLayout.JAVA_INT, oo + k, sm.getAtIndex(ValueLayout.JAVA_INT, so + k * si));
                }
            }
            return;
        }
        long k = 0;
        if (B != null && ci == 1) {
            // One loop per operand form, so no vector value is chosen at run time (which would box it).
            long bound = len - len % I.length();
            if (ai == 1 && bi == 1) {
                for (; k < bound; k += I.length()) {
                    IntVector.fromMemorySegment(I, bm, (ob + k) * 4, LE)
                            .blend(IntVector.fromMemorySegment(I, am, (oa + k) * 4, LE), mask(cm, oc + k))
                            .intoMemorySegment(om, (oo + k) * 4, LE);
                }
            } else if (ai == 0 && bi == 1) {
                IntVector x = IntVector.broadcast(I, am.getAtIndex(ValueLayout.JAVA_INT, oa));
                for (; k < bound; k += I.length()) {
                    IntVector.fromMemorySegment(I, bm, (ob + k) * 4, LE).blend(x, mask(cm, oc + k))
                            .intoMemorySegment(om, (oo + k) * 4, LE);
                }
            } else if (ai == 1 && bi == 0) {
                IntVector y = IntVector.broadcast(I, bm.getAtIndex(ValueLayout.JAVA_INT, ob));
                for (; k < bound; k += I.length()) {
                    y.blend(IntVector.fromMemorySegment(I, am, (oa + k) * 4, LE), mask(cm, oc + k))
                            .intoMemorySegment(om, (oo + k) * 4, LE);
                }
            }
        }
        for (; k < len; k++) {
            int v = cm.get(ValueLayout.JAVA_BYTE, oc + k * ci) != 0
                    ? am.getAtIndex(ValueLayout.JAVA_INT, oa + k * ai)
                    : bm.getAtIndex(ValueLayout.JAVA_INT, ob + k * bi);
            om.setAtIndex(ValueLayout.JAVA_INT, oo + k, v);
        }
    }

    /** Lanes where the condition bytes at {@code offset} are nonzero. */
    private static VectorMask<Integer> mask(MemorySegment cm, long offset) {
        return ByteVector.fromMemorySegment(B, cm, offset, LE).compare(VectorOperators.NE, (byte) 0).cast(I);
    }

    private static void runScalar(MemorySegment cm, long oc, long ci, MemorySegment am, long oa, long ai,
                                  MemorySegment bm, long ob, long bi, MemorySegment om, long oo, long len, int bytes) {
        for (long k = 0; k < len; k++) {
            boolean c = cm.get(ValueLayout.JAVA_BYTE, oc + k * ci) != 0;
            CpuIndexingKernels.copyElement(c ? am : bm, c ? oa + k * ai : ob + k * bi, om, oo + k, bytes);
        }
    }
}
