package dev.panomni.tensor.cpu;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.HostElements;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.LossKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.panomni.tensor.cpu.VectorMath.L;
import static dev.panomni.tensor.cpu.VectorMath.load;
import static dev.panomni.tensor.cpu.VectorMath.mask;
import static dev.panomni.tensor.cpu.VectorMath.store;

/**
 * CPU cross-entropy, one row at a time: the row maximum, then the sum of exponentials (float64),
 * then the loss; no log-softmax row is ever stored. Rows are spread over cores.
 */
final class CpuLossKernels implements LossKernels {
    private static final long GRAIN = 1 << 14;

    @Override
    public TargetCheck checkTargets(Tensor targets, long classes, long ignoreIndex) {
        requireTargets(targets);
        MemorySegment ts = targets.storage().segment();
        DType dt = targets.dtype();
        long to = targets.offset();
        long n = targets.numel();
        long counted = 0;
        for (long i = 0; i < n; i++) {
            long t = HostElements.getLong(ts, dt, to + i);
            if (t == ignoreIndex) {
                continue;
            }
            if (t < 0 || t >= classes) {
                return new TargetCheck(counted, i);
            }
            counted++;
        }
        return new TargetCheck(counted, -1);
    }

    @Override
    public void crossEntropyForward(Tensor logits, Tensor targets, long ignoreIndex, Tensor rowLoss, Tensor rowLse) {
        VectorMath.requireContiguousF32("crossEntropy", logits, rowLoss, rowLse);
        requireTargets(targets);
        Rows rows = Rows.of(logits, targets);
        MemorySegment ls = rowLoss.storage().segment();
        long lo = rowLoss.offset();
        MemorySegment es = rowLse == null ? null : rowLse.storage().segment();
        long eo = rowLse == null ? 0 : rowLse.offset();
        CpuParallel.forRange(rows.count, Math.max(1, GRAIN / rows.classes), (s, e) -> {
            for (long r = s; r < e; r++) {
                long at = rows.rowStart(r);
                float max = VectorMath.max(rows.x, at, rows.classes);
                double logSum = Math.log(VectorMath.sumExp(rows.x, at, rows.classes, max));
                float lse = (float) (max + logSum);
                long t = rows.target(r);
                // (max - x_t) + log(sum): no rounding of a large max + log(sum) before the difference
                float loss = t == ignoreIndex ? 0f
                        : (float) (((double) max - rows.x.getAtIndex(ValueLayout.JAVA_FLOAT, at + t)) + logSum);
                ls.setAtIndex(ValueLayout.JAVA_FLOAT, lo + r, loss);
                if (es != null) {
                    es.setAtIndex(ValueLayout.JAVA_FLOAT, eo + r, lse);
                }
            }
        });
    }

    @Override
    public void crossEntropyBackward(Tensor logits, Tensor targets, long ignoreIndex, Tensor rowLse, Tensor upstream,
                                     double scale, Tensor gradLogits) {
        VectorMath.requireContiguousF32("crossEntropy backward", logits, rowLse, upstream, gradLogits);
        requireTargets(targets);
        Rows rows = Rows.of(logits, targets);
        float coef = (float) (upstream.storage().segment().getAtIndex(ValueLayout.JAVA_FLOAT, upstream.offset()) * scale);
        MemorySegment es = rowLse.storage().segment();
        long eo = rowLse.offset();
        MemorySegment gs = gradLogits.storage().segment();
        long go = gradLogits.offset();
        long c = rows.classes;
        CpuParallel.forRange(rows.count, Math.max(1, GRAIN / c), (s, e) -> {
            for (long r = s; r < e; r++) {
                long at = rows.rowStart(r);
                long gAt = go + r * c;
                long t = rows.target(r);
                if (t == ignoreIndex) {
                    gs.asSlice(gAt * 4, c * 4).fill((byte) 0);
                    continue;
                }
                float lse = es.getAtIndex(ValueLayout.JAVA_FLOAT, eo + r);
                for (long k = 0; k < c; k += L) {
                    VectorMask<Float> m = mask(k, c);
                    // VectorExp, not the EXP intrinsic: the same bits before and after the JIT compiles this.
                    FloatVector p = VectorExp.exp(load(rows.x, at + k, m).sub(lse));
                    store(p.mul(coef), gs, gAt + k, m);
                }
                gs.setAtIndex(ValueLayout.JAVA_FLOAT, gAt + t, gs.getAtIndex(ValueLayout.JAVA_FLOAT, gAt + t) - coef);
            }
        });
    }

    @Override
    public void crossEntropyFused(Tensor logits, Tensor targets, long ignoreIndex, double gradScale, Tensor rowLoss,
                                  Tensor gradLogits) {
        VectorMath.requireContiguousF32("crossEntropyFused", logits, rowLoss, gradLogits);
        requireTargets(targets);
        Rows rows = Rows.of(logits, targets);
        MemorySegment ls = rowLoss.storage().segment();
        long lo = rowLoss.offset();
        MemorySegment gs = gradLogits.storage().segment();
        long go = gradLogits.offset();
        long c = rows.classes;
        float coef = (float) gradScale;
        CpuParallel.forRange(rows.count, Math.max(1, GRAIN / c), (s, e) -> {
            for (long r = s; r < e; r++) {
                long at = rows.rowStart(r);
                long gAt = go + r * c;
                long t = rows.target(r);
                if (t == ignoreIndex) {
                    ls.setAtIndex(ValueLayout.JAVA_FLOAT, lo + r, 0f);
                    gs.asSlice(gAt * 4, c * 4).fill((byte) 0);
                    continue;
                }
                // Read the target logit before the row may be overwritten by its gradient.
                float xt = rows.x.getAtIndex(ValueLayout.JAVA_FLOAT, at + t);
                float max = VectorMath.max(rows.x, at, c);
                double sum = VectorMath.expShiftInto(rows.x, at, gs, gAt, c, max);
                ls.setAtIndex(ValueLayout.JAVA_FLOAT, lo + r, (float) (((double) max - xt) + Math.log(sum)));
                float k = (float) (gradScale / sum);
                for (long j = 0; j < c; j += L) {
                    VectorMask<Float> m = mask(j, c);
                    store(load(gs, gAt + j, m).mul(k), gs, gAt + j, m);
                }
                gs.setAtIndex(ValueLayout.JAVA_FLOAT, gAt + t, gs.getAtIndex(ValueLayout.JAVA_FLOAT, gAt + t) - coef);
            }
        });
    }

    private static void requireTargets(Tensor targets) {
        if ((targets.dtype() != DType.I64 && targets.dtype() != DType.I32) || !targets.isContiguous()) {
            throw new IllegalStateException("crossEntropy: CPU kernel needs contiguous I64 or I32 targets, got "
                    + targets.describe());
        }
    }

    /** Logits rows and their targets. */
    private record Rows(MemorySegment x, long offset, long count, long classes, MemorySegment t, long tOffset,
                        boolean wide) {
        static Rows of(Tensor logits, Tensor targets) {
            long[] s = logits.shape();
            return new Rows(logits.storage().segment(), logits.offset(), s[0], s[1], targets.storage().segment(),
                    targets.offset(), targets.dtype() == DType.I64);
        }

        long rowStart(long r) {
            return offset + r * classes;
        }

        long target(long r) {
            return wide ? t.getAtIndex(ValueLayout.JAVA_LONG, tOffset + r) : t.getAtIndex(ValueLayout.JAVA_INT, tOffset + r);
        }
    }
}
