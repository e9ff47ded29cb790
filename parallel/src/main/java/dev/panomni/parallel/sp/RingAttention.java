package dev.panomni.parallel.sp;

import dev.panomni.nn.AttentionFunction;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.Work;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.AttentionOptions;
import dev.panomni.tensor.ops.BlockAttention;
import dev.panomni.tensor.ops.BlockMask;
import dev.panomni.tensor.ops.Joining;
import dev.panomni.tensor.ops.Layout;

/**
 * Ring attention: each sp rank keeps its queries and passes key/value blocks around the ring
 * (rank r sends to r + 1 and receives from r - 1). At step s a rank holds the block of rank
 * r - s; it starts the transfer of that block onward, attends its queries to the block it holds
 * meanwhile (a {@link BlockAttention} call masked by the tokens' global positions and documents),
 * and merges the partial result into its running output by log-sum-exp. The sequence is sharded
 * load-balanced (see {@link SequenceLayout.Sharding#LOAD_BALANCED}) so causal work is even.
 *
 * <p>Backward runs the ring again: with the merged output and log-sum-exp, each block's share of the
 * gradients is exact; dq accumulates locally, and each block's dk/dv travel with the block and
 * reach its owner after one extra hop.
 */
public final class RingAttention implements AttentionFunction {
    private final Communicator sp;
    private final SequenceContext context;

    public RingAttention(Communicator sp, SequenceContext context) {
        this.sp = sp;
        this.context = context;
    }

    @Override
    public Tensor attend(Tensor q, Tensor k, Tensor v, AttentionOptions opts) {
        SequenceLayout layout = context.layout();
        int n = sp.size();
        if (layout.sharding() != SequenceLayout.Sharding.LOAD_BALANCED || layout.sp() != n) {
            throw new IllegalStateException("ring attention needs a load-balanced sequence layout over sp = " + n
                    + ", got " + layout);
        }
        if (q.size(0) != layout.localTokens()) {
            throw new IllegalArgumentException("ring attention: " + q.size(0) + " local tokens, the layout has "
                    + layout.localTokens());
        }
        double scale = opts.scaleFor(q.size(2));
        try (Scope meta = Scope.open("ring.meta")) {
            Ring ring = Ring.of(layout, opts.causal(), q, n);
            Tensor[] res = GradMode.noGrad(() -> forward(ring, q, k, v, scale));
            Tensor out = meta.keep(res[0]);
            if (Autograd.needsRecord(q, k, v)) {
                Tensor accOut = res[1];
                Tensor lse = res[2];
                Autograd.record(new Node("ringAttention", q, k, v) {
                    final Tensor sq = save(q);
                    final Tensor sk = save(k);
                    final Tensor sv = save(v);
                    final Tensor so = save(accOut);
                    final Tensor sl = save(lse);
                    final Ring sr = ring.map(this::keep);

                    private Tensor keep(Tensor t) {
                        return save(t);
                    }

                    @Override
                    protected Tensor[] backward(Tensor[] g) {
                        Tensor[] grads = RingAttention.this.backward(sr, g[0], sq, sk, sv, so, sl, scale);
                        return new Tensor[] {needsGrad(0) ? grads[0] : null, needsGrad(1) ? grads[1] : null,
                            needsGrad(2) ? grads[2] : null};
                    }
                }, out);
            }
            return out;
        }
    }

    /** Positions (global indices) and documents of every rank's tokens, for the block masks. */
    private record Ring(Tensor[] positions, Tensor[] documents, boolean causal) {
        static Ring of(SequenceLayout layout, boolean causal, Tensor like, int n) {
            int[] doc = layout.documentIds();
            Tensor[] positions = new Tensor[n];
            Tensor[] documents = new Tensor[n];
            GradMode.noGrad(() -> {
                for (int r = 0; r < n; r++) {
                    long[] g = layout.globalIndices(r);
                    int[] d = new int[g.length];
                    for (int i = 0; i < g.length; i++) {
                        d[i] = doc[(int) g[i]];
                    }
                    positions[r] = Tensor.ofLongs(g, g.length).to(like.device());
                    documents[r] = Tensor.ofInts(d, d.length).to(like.device());
                }
            });
            return new Ring(positions, documents, causal);
        }

        /** The same ring with every tensor passed through {@code f} (to keep handles for backward). */
        Ring map(java.util.function.UnaryOperator<Tensor> f) {
            Tensor[] p = new Tensor[positions.length];
            Tensor[] d = new Tensor[documents.length];
            for (int i = 0; i < p.length; i++) {
                p[i] = f.apply(positions[i]);
                d[i] = f.apply(documents[i]);
            }
            return new Ring(p, d, causal);
        }

        BlockMask mask(int me, int owner) {
            return new BlockMask(positions[me], positions[owner], documents[me], documents[owner], causal);
        }
    }

    /** Entry {@code i} of a stacked [2, ...] block. */
    private static Tensor part(Tensor stacked, int i) {
        return stacked.narrow(0, i, 1).squeeze(0);
    }

    private int next() {
        return (sp.rank() + 1) % sp.size();
    }

    private int prev() {
        return (sp.rank() - 1 + sp.size()) % sp.size();
    }

    /** Returns {out in q's dtype, merged F32 out, merged lse}. */
    private Tensor[] forward(Ring ring, Tensor q, Tensor k, Tensor v, double scale) {
        int n = sp.size();
        int me = sp.rank();
        long l = q.size(0);
        Tensor accOut = Tensor.zeros(DType.F32, q.device(), q.shape());
        Tensor accLse = Tensor.full(DType.F32, q.device(), Double.NEGATIVE_INFINITY, q.size(1), l);
        try (Scope s = Scope.open("ring.forward")) {
            Tensor kv = Joining.stack(new Tensor[] {k, v}, 0);             // [2, L, Hkv, D], the block that travels
            for (int step = 0; step < n; step++) {
                int owner = (me - step + n) % n;
                Tensor incoming = null;
                Work[] transfer = null;
                if (step < n - 1) {
                    incoming = Tensor.empty(kv.dtype(), kv.device(), kv.shape());
                    transfer = new Work[] {sp.send(kv, next()), sp.recv(incoming, prev())};
                }
                BlockAttention.Result part = BlockAttention.attend(q, part(kv, 0), part(kv, 1), ring.mask(me, owner), scale);
                BlockAttention.mergeInto(accOut, accLse, part.out(), part.lse());
                if (transfer != null) {
                    transfer[0].await();
                    transfer[1].await();
                    kv.close();
                    kv = incoming;
                }
            }
        }
        Tensor out = Layout.cast(accOut, q.dtype());
        return new Tensor[] {out, accOut, accLse};
    }

    /** {dq, dk, dv} of the local q, k, v. */
    private Tensor[] backward(Ring ring, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, double scale) {
        int n = sp.size();
        int me = sp.rank();
        Tensor dq = Tensor.zeros(DType.F32, q.device(), q.shape());
        Tensor dkv;
        try (Scope s = Scope.open("ring.backward")) {
            // BlockAttentionKernels take one compute dtype: the merged F32 output goes in as q's (BF16 on GPUs).
            Tensor outC = Layout.cast(out, q.dtype());
            Tensor kv = Joining.stack(new Tensor[] {k, v}, 0);
            Tensor grad = Tensor.zeros(DType.F32, kv.device(), kv.shape());   // dk, dv of the block held
            for (int step = 0; step < n; step++) {
                int owner = (me - step + n) % n;
                Tensor incoming = null;
                Work[] kvTransfer = null;
                if (step < n - 1) {
                    incoming = Tensor.empty(kv.dtype(), kv.device(), kv.shape());
                    kvTransfer = new Work[] {sp.send(kv, next()), sp.recv(incoming, prev())};
                }
                Tensor[] g = BlockAttention.backwardOf(dout, null, q, part(kv, 0), part(kv, 1), outC, lse,
                        ring.mask(me, owner), scale);
                // The block gradients come in the compute dtype (BF16 on GPUs); they accumulate in F32.
                Arith.addInPlace(dq, Layout.cast(g[0], DType.F32));
                Arith.addInPlace(grad, Layout.cast(Joining.stack(new Tensor[] {g[1], g[2]}, 0), DType.F32));
                // The accumulated gradient moves on with the block; after the last step it goes home.
                Tensor gradIn = Tensor.empty(DType.F32, grad.device(), grad.shape());
                Work send = sp.send(grad, next());
                Work recv = sp.recv(gradIn, prev());
                send.await();
                recv.await();
                grad.close();
                grad = gradIn;
                if (kvTransfer != null) {
                    kvTransfer[0].await();
                    kvTransfer[1].await();
                    kv.close();
                    kv = incoming;
                }
            }
            dkv = s.keep(grad);
        }
        return new Tensor[] {Layout.cast(dq, q.dtype()), Layout.cast(part(dkv, 0), k.dtype()),
            Layout.cast(part(dkv, 1), v.dtype())};
    }
}
