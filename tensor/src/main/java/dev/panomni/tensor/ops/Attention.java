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
 * Scaled-dot-product attention, fused: one flash-attention kernel forward (online softmax over key
 * blocks, saving only the per-row log-sum-exp) and one backward (probabilities recomputed
 * blockwise). Supports grouped-query heads, causal masking and packed variable-length documents.
 */
public final class Attention {
    private Attention() {
    }

    static AttentionKernels kernels(Tensor t) {
        return t.backend().kernels(AttentionKernels.class);
    }

    /**
     * {@code softmax(q k^T * scale + mask) v} per head, computed in F32 and rounded once to the
     * inputs' dtype.
     *
     * <p>Packed form: {@code q} [T, Hq, D], {@code k} and {@code v} [T, Hkv, D], documents given by
     * {@code opts.cuSeqlens()} (or one document). Batched form: [B, S, Hq, D] and [B, S, Hkv, D],
     * each batch row its own document (no cuSeqlens). {@code Hq} must be a multiple of {@code Hkv}:
     * query head h uses kv head {@code h / (Hq / Hkv)}.
     *
     * @return q's shape and dtype
     */
    public static Tensor sdpa(Tensor q, Tensor k, Tensor v, AttentionOptions opts) {
        String op = "sdpa";
        OpChecks.sameDeviceAndDtype(op, q, k, v);
        OpChecks.floating(op, q);
        Tensor cu = opts.cuSeqlens();
        String shapes = "q " + Shapes.str(q.shape()) + ", k " + Shapes.str(k.shape()) + ", v " + Shapes.str(v.shape());
        int r = q.rank();
        if ((r != 3 && r != 4) || k.rank() != r || v.rank() != r) {
            throw new TensorOpException(op, "expected q, k, v all [T, H, D] (packed) or all [B, S, H, D] (batched), got "
                    + shapes);
        }
        long[] qs = q.shape();
        long[] ks = k.shape();
        long[] vs = v.shape();
        for (int i = 0; i < r - 2; i++) {
            if (ks[i] != qs[i] || vs[i] != qs[i]) {
                throw new TensorOpException(op, (r == 3 ? "token counts T" : "batch and sequence dims [B, S]")
                        + " of q, k, v must agree (self-attention), got " + shapes);
            }
        }
        long hq = qs[r - 2];
        long hkv = ks[r - 2];
        long d = qs[r - 1];
        if (ks[r - 1] != d || vs[r - 1] != d) {
            throw new TensorOpException(op, "head dim D of q, k and v must match, got " + shapes);
        }
        if (vs[r - 2] != hkv) {
            throw new TensorOpException(op, "k and v must have the same number of heads, got " + shapes);
        }
        if (hkv == 0 || hq % hkv != 0) {
            throw new TensorOpException(op, "query heads Hq=" + hq + " must be a multiple of kv heads Hkv=" + hkv
                    + " (grouped-query attention), got " + shapes);
        }
        long t = r == 3 ? qs[0] : qs[0] * qs[1];
        if (cu != null) {
            OpChecks.sameDevice(op, q, cu);
            if (r == 4) {
                throw new TensorOpException(op, "cuSeqlens describes a packed sequence [T, H, D]; for batched input "
                        + shapes + " each batch row is a document already (flatten it to [B*S, H, D] to use cuSeqlens)");
            }
            if (cu.dtype() != DType.I32 || cu.rank() != 1 || cu.size(0) < 2) {
                throw new TensorOpException(op, "cuSeqlens must be I32 [docs + 1] with at least 2 entries (0 and T=" + t
                        + "), got " + cu.describe());
            }
        }
        float scale = (float) opts.scaleFor(d);
        boolean causal = opts.causal();
        DType dtype = q.dtype();
        long seq = r == 4 ? qs[1] : t;
        boolean record = Autograd.needsRecord(q, k, v);
        Tensor[] res = GradMode.noGrad(() -> {
            try (Scope s = Scope.open(op)) {
                Tensor docs = cu != null ? WorkingCopies.contiguous(cu) : r == 4 ? uniformDocs(qs[0], seq, q) : null;
                Tensor qc = WorkingCopies.contiguous(q);
                Tensor kc = WorkingCopies.contiguous(k);
                Tensor vc = WorkingCopies.contiguous(v);
                Tensor qw = WorkingCopies.input(qc).view(t, hq, d);
                Tensor kw = WorkingCopies.input(kc).view(t, hkv, d);
                Tensor vw = WorkingCopies.input(vc).view(t, hkv, d);
                Tensor ow = WorkingCopies.output(qw, t, hq, d);
                Tensor lse = record ? WorkingCopies.f32(q.device(), hq, t) : null;
                kernels(q).forward(qw, kw, vw, docs, causal, scale, ow, lse);
                Tensor out = s.keep(WorkingCopies.finish(ow, dtype).view(qs));
                if (!record) {
                    return new Tensor[] {out};
                }
                return new Tensor[] {out, s.keep(qc), s.keep(kc), s.keep(vc), s.keep(lse),
                    docs == null ? null : s.keep(docs)};
            }
        });
        Tensor out = res[0];
        if (record) {
            Autograd.record(new Node(op, q, k, v) {
                final Tensor savedQ = save(res[1]);
                final Tensor savedK = save(res[2]);
                final Tensor savedV = save(res[3]);
                final Tensor savedOut = save(out);
                final Tensor savedLse = save(res[4]);
                final Tensor savedDocs = res[5] == null ? null : save(res[5]);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor dow = WorkingCopies.input(g[0]).view(t, hq, d);
                    Tensor qw = WorkingCopies.input(savedQ).view(t, hq, d);
                    Tensor kw = WorkingCopies.input(savedK).view(t, hkv, d);
                    Tensor vw = WorkingCopies.input(savedV).view(t, hkv, d);
                    Tensor ow = WorkingCopies.input(savedOut).view(t, hq, d);
                    Tensor dq = needsGrad(0) ? WorkingCopies.output(qw, t, hq, d) : null;
                    Tensor dk = needsGrad(1) ? WorkingCopies.output(qw, t, hkv, d) : null;
                    Tensor dv = needsGrad(2) ? WorkingCopies.output(qw, t, hkv, d) : null;
                    kernels(qw).backward(dow, qw, kw, vw, ow, savedLse, savedDocs, causal, scale, dq, dk, dv);
                    return new Tensor[] {
                        dq == null ? null : WorkingCopies.finish(dq, dtype).view(qs),
                        dk == null ? null : WorkingCopies.finish(dk, dtype).view(ks),
                        dv == null ? null : WorkingCopies.finish(dv, dtype).view(vs)
                    };
                }
            }, out);
            WorkingCopies.close(res[1], res[2], res[3], res[4], res[5]);
        }
        return out;
    }

    /** cuSeqlens {@code 0, S, 2S, ..., B*S} for the batched form, built from shapes (no device reads). */
    private static Tensor uniformDocs(long batch, long seq, Tensor like) {
        if (batch * seq > Integer.MAX_VALUE) {
            throw new TensorOpException("sdpa", "batched input of " + batch + " x " + seq
                    + " tokens exceeds the I32 document offsets");
        }
        int[] cu = new int[Math.toIntExact(batch + 1)];
        for (int i = 0; i <= batch; i++) {
            cu[i] = (int) (i * seq);
        }
        return Layout.toDevice(Tensor.ofInts(cu, cu.length), like.device());
    }
}
