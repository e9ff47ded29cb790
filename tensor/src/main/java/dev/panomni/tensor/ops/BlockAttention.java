package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;

/**
 * Attention of a block of queries against a separate block of keys and values, each token carrying
 * its position and document, returning the output and its log-sum-exp: the building block of ring
 * attention, where each rank's queries meet the key/value blocks of every rank in turn and the
 * partial results are merged by log-sum-exp. Both outputs are differentiable.
 */
public final class BlockAttention {
    private BlockAttention() {
    }

    /**
     * @param out [Tq, Hq, D] in q's dtype
     * @param lse F32 [Hq, Tq]: log of the softmax denominator of each query row (-infinity where
     *            the query sees no key, whose output row is 0)
     */
    public record Result(Tensor out, Tensor lse) {
    }

    static BlockAttentionKernels kernels(Tensor t) {
        return t.backend().kernels(BlockAttentionKernels.class);
    }

    /**
     * @param q     [Tq, Hq, D]
     * @param k     [Tk, Hkv, D] with Hq a multiple of Hkv (query head h reads kv head h / (Hq / Hkv))
     * @param v     [Tk, Hkv, D]
     * @param mask  positions and documents of the queries and keys
     * @param scale logit multiplier; NaN for 1 / sqrt(D)
     */
    public static Result attend(Tensor q, Tensor k, Tensor v, BlockMask mask, double scale) {
        String op = "blockAttention";
        float sc = check(op, q, k, v, mask, scale);
        long tq = q.size(0);
        long hq = q.size(1);
        long d = q.size(2);
        DType dtype = q.dtype();
        boolean record = Autograd.needsRecord(q, k, v);
        Tensor[] res = GradMode.noGrad(() -> {
            try (Scope s = Scope.open(op)) {
                Tensor qw = WorkingCopies.input(q);
                Tensor kw = WorkingCopies.input(k);
                Tensor vw = WorkingCopies.input(v);
                Tensor ow = WorkingCopies.output(qw, tq, hq, d);
                Tensor lse = WorkingCopies.f32(q.device(), hq, tq);
                kernels(q).forward(qw, kw, vw, idx(mask.queryPositions()), idx(mask.keyPositions()),
                        idx(mask.queryDocuments()), idx(mask.keyDocuments()), mask.causal(), sc, ow, lse);
                Tensor out = s.keep(WorkingCopies.finish(ow, dtype));
                return new Tensor[] {out, s.keep(lse)};
            }
        });
        Tensor out = res[0];
        Tensor lse = res[1];
        if (record) {
            Autograd.record(new Node(op, 2, q, k, v) {
                final Tensor sq = save(q);
                final Tensor sk = save(k);
                final Tensor sv = save(v);
                final Tensor so = save(out);
                final Tensor sl = save(lse);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor[] grads = backwardOf(g[0], g[1], sq, sk, sv, so, sl, mask, scale);
                    return new Tensor[] {needsGrad(0) ? grads[0] : null, needsGrad(1) ? grads[1] : null,
                        needsGrad(2) ? grads[2] : null};
                }
            }, out, lse);
        }
        return new Result(out, lse);
    }

    /**
     * The gradients of q, k and v given the output gradient {@code dout} [Tq, Hq, D] and the
     * log-sum-exp gradient {@code dlse} (F32 [Hq, Tq] or null), with probabilities normalized by
     * {@code lse}. With a merged (ring) attention's {@code out} and {@code lse}, this is one key
     * block's share of the merged gradients (dq summed over blocks, dk and dv per block).
     *
     * @return {dq, dk, dv} in the dtypes of q, k, v (not recorded)
     */
    public static Tensor[] backwardOf(Tensor dout, Tensor dlse, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                      BlockMask mask, double scale) {
        String op = "blockAttention";
        float sc = check(op, q, k, v, mask, scale);
        if (!java.util.Arrays.equals(dout.shape(), q.shape()) || !java.util.Arrays.equals(out.shape(), q.shape())) {
            throw new TensorOpException(op, "dout " + Shapes.str(dout.shape()) + " and out " + Shapes.str(out.shape())
                    + " must have q's shape " + Shapes.str(q.shape()));
        }
        long[] lseShape = {q.size(1), q.size(0)};
        if (lse.dtype() != DType.F32 || !java.util.Arrays.equals(lse.shape(), lseShape)
                || (dlse != null && !java.util.Arrays.equals(dlse.shape(), lseShape))) {
            throw new TensorOpException(op, "lse and dlse must be F32 " + Shapes.str(lseShape) + ", got "
                    + lse.describe() + (dlse == null ? "" : " and " + dlse.describe()));
        }
        return GradMode.noGrad(() -> {
            Tensor qw = WorkingCopies.input(q);
            Tensor kw = WorkingCopies.input(k);
            Tensor vw = WorkingCopies.input(v);
            Tensor ow = WorkingCopies.input(out);
            Tensor dow = WorkingCopies.input(dout);
            Tensor lw = WorkingCopies.contiguous(lse);
            Tensor dlw = dlse == null ? null : WorkingCopies.input(Layout.cast(dlse, DType.F32));
            Tensor dq = WorkingCopies.output(qw, q.shape());
            Tensor dk = WorkingCopies.output(qw, k.shape());
            Tensor dv = WorkingCopies.output(qw, v.shape());
            kernels(q).backward(dow, dlw, qw, kw, vw, ow, lw, idx(mask.queryPositions()), idx(mask.keyPositions()),
                    idx(mask.queryDocuments()), idx(mask.keyDocuments()), mask.causal(), sc, dq, dk, dv);
            WorkingCopies.close(qw, kw, vw, ow, dow, lw, dlw);
            return new Tensor[] {WorkingCopies.finish(dq, q.dtype()), WorkingCopies.finish(dk, k.dtype()),
                WorkingCopies.finish(dv, v.dtype())};
        });
    }

    /**
     * Merges a block's {@code out} [Tq, Hq, D] and {@code lse} F32 [Hq, Tq] into the accumulator
     * {@code accOut} (F32, same shape) and {@code accLse} in place, by log-sum-exp: afterwards the
     * accumulator is the attention over the keys of both. An accumulator that starts with lse
     * -infinity (and any output) takes the block's result. Not recorded (ring attention records
     * its own node).
     */
    public static void mergeInto(Tensor accOut, Tensor accLse, Tensor out, Tensor lse) {
        String op = "blockAttentionMerge";
        OpChecks.sameDevice(op, accOut, accLse, out, lse);
        if (accOut.dtype() != DType.F32 || accLse.dtype() != DType.F32 || lse.dtype() != DType.F32
                || !accOut.isContiguous() || !accLse.isContiguous() || out.rank() != 3
                || !java.util.Arrays.equals(accOut.shape(), out.shape())
                || !java.util.Arrays.equals(accLse.shape(), lse.shape())
                || !java.util.Arrays.equals(lse.shape(), new long[] {out.size(1), out.size(0)})) {
            throw new TensorOpException(op, "expected contiguous F32 accOut [Tq, Hq, D] and accLse [Hq, Tq], out of "
                    + "accOut's shape and F32 lse [Hq, Tq], got accOut " + accOut.describe() + ", accLse "
                    + accLse.describe() + ", out " + out.describe() + ", lse " + lse.describe());
        }
        GradMode.noGrad(() -> {
            try (Scope s = Scope.open(op)) {
                Tensor ow = WorkingCopies.input(out);
                Tensor lw = WorkingCopies.contiguous(lse);
                kernels(accOut).mergeInto(accOut, accLse, ow.dtype() == DType.F32 ? ow : Layout.cast(ow, DType.F32), lw);
            }
        });
    }

    private static Tensor idx(Tensor t) {
        return WorkingCopies.contiguous(t);
    }

    private static float check(String op, Tensor q, Tensor k, Tensor v, BlockMask mask, double scale) {
        OpChecks.sameDeviceAndDtype(op, q, k, v);
        OpChecks.floating(op, q);
        String shapes = "q " + Shapes.str(q.shape()) + ", k " + Shapes.str(k.shape()) + ", v " + Shapes.str(v.shape());
        if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3) {
            throw new TensorOpException(op, "expected q [Tq, Hq, D], k and v [Tk, Hkv, D], got " + shapes);
        }
        if (!java.util.Arrays.equals(k.shape(), v.shape())) {
            throw new TensorOpException(op, "k and v must have the same shape, got " + shapes);
        }
        if (k.size(2) != q.size(2)) {
            throw new TensorOpException(op, "head dim D of q, k and v must match, got " + shapes);
        }
        if (k.size(1) == 0 || q.size(1) % k.size(1) != 0) {
            throw new TensorOpException(op, "query heads Hq=" + q.size(1) + " must be a multiple of kv heads Hkv="
                    + k.size(1) + ", got " + shapes);
        }
        Tensor[] meta = {mask.queryPositions(), mask.keyPositions(), mask.queryDocuments(), mask.keyDocuments()};
        long[] lengths = {q.size(0), k.size(0), q.size(0), k.size(0)};
        String[] names = {"query positions", "key positions", "query documents", "key documents"};
        for (int i = 0; i < 4; i++) {
            OpChecks.indexType(op, meta[i]);
            OpChecks.sameDevice(op, q, meta[i]);
            if (meta[i].rank() != 1 || meta[i].size(0) != lengths[i]) {
                throw new TensorOpException(op, names[i] + " must be [" + lengths[i] + "] for " + shapes + ", got "
                        + meta[i].describe());
            }
        }
        return (float) (Double.isNaN(scale) ? 1.0 / Math.sqrt(q.size(2)) : scale);
    }
}
