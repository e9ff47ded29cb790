package dev.panomni.parallel.sp;

import dev.panomni.nn.AttentionFunction;
import dev.panomni.parallel.comm.AllToAllOp;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Attention;
import dev.panomni.tensor.ops.AttentionOptions;
import dev.panomni.tensor.ops.Indexing;

/**
 * DeepSpeed-Ulysses sequence parallelism: each sp rank holds a contiguous chunk of the sequence;
 * around attention an all-to-all turns sequence-sharded q, k, v [T/sp, H, D] into head-sharded full
 * sequences [T, H/sp, D], attention runs over the whole sequence with its real document boundaries,
 * and the reverse all-to-all brings the output back to [T/sp, H, D]. When there are fewer KV heads
 * than sp ranks, each KV head is repeated so every rank gets the one its query heads read.
 * Gradients take the same all-to-alls in reverse.
 */
public final class UlyssesAttention implements AttentionFunction {
    private final Communicator sp;
    private final SequenceContext context;

    public UlyssesAttention(Communicator sp, SequenceContext context) {
        this.sp = sp;
        this.context = context;
    }

    @Override
    public Tensor attend(Tensor q, Tensor k, Tensor v, AttentionOptions opts) {
        SequenceLayout layout = context.layout();
        int n = sp.size();
        long hq = q.size(1);
        long hkv = k.size(1);
        if (layout.sharding() != SequenceLayout.Sharding.CONTIGUOUS || layout.sp() != n) {
            throw new IllegalStateException("Ulysses attention needs a contiguous sequence layout over sp = " + n
                    + ", got " + layout);
        }
        if (hq % n != 0) {
            throw new IllegalArgumentException("Ulysses attention: query heads (" + hq + ") must be divisible by sp (" + n + ")");
        }
        if (hkv < n) {
            if (n % hkv != 0) {
                throw new IllegalArgumentException("Ulysses attention: sp (" + n + ") must be a multiple of the KV heads ("
                        + hkv + ") to repeat them");
            }
            Tensor repeat = repeatIndex(hkv, n, k);
            k = Indexing.indexSelect(k, 1, repeat);
            v = Indexing.indexSelect(v, 1, repeat);
        } else if (hkv % n != 0) {
            throw new IllegalArgumentException("Ulysses attention: KV heads (" + hkv + ") must be divisible by sp (" + n + ")");
        }
        Tensor qh = toHeadSharded(q);
        Tensor kh = toHeadSharded(k);
        Tensor vh = toHeadSharded(v);
        Tensor cu = GradMode.noGrad(() -> Tensor.ofInts(layout.cuSeqlens(), layout.cuSeqlens().length).to(q.device()));
        Tensor o = Attention.sdpa(qh, kh, vh, opts.withCuSeqlens(cu));
        return toSequenceSharded(o, q.size(0), hq);
    }

    /** [L, H, D] (this rank's tokens, all heads) -> [n L, H/n, D] (all tokens, this rank's heads). */
    private Tensor toHeadSharded(Tensor x) {
        int n = sp.size();
        long l = x.size(0);
        long h = x.size(1);
        long d = x.size(2);
        Tensor byDest = x.reshape(l, n, h / n, d).permute(1, 0, 2, 3).contiguous().view(n * l, h / n, d);
        return AllToAllOp.apply(sp, byDest);
    }

    /** [n L, H/n, D] -> [L, H, D]. */
    private Tensor toSequenceSharded(Tensor o, long l, long h) {
        int n = sp.size();
        long d = o.size(2);
        Tensor bySource = AllToAllOp.apply(sp, o.contiguous());          // [n (head group), L, H/n, D]
        return bySource.view(n, l, h / n, d).permute(1, 0, 2, 3).contiguous().view(l, h, d);
    }

    /** KV head for each of n slots: head {@code j * hkv / n}, each repeated n / hkv times. */
    private static Tensor repeatIndex(long hkv, int n, Tensor like) {
        long[] idx = new long[n];
        for (int j = 0; j < n; j++) {
            idx[j] = j * hkv / n;
        }
        return GradMode.noGrad(() -> Tensor.ofLongs(idx, n).to(like.device()));
    }
}
