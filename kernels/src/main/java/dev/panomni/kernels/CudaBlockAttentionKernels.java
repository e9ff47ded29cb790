package dev.panomni.kernels;

import dev.panomni.kernels.launch.BlockAttentionLaunchers;
import dev.panomni.kernels.launch.BlockAttentionLaunchers.Metadata;
import dev.panomni.kernels.launch.BlockAttentionLaunchers.Shape;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.BlockAttentionKernels;
import dev.panomni.tensor.ops.Layout;

/**
 * CUDA block attention (block_attention.cu), what ring attention runs on GPUs: attention.cu's
 * tensor-core flash kernels (bf16/f16, head dim 64 and 128) under a mask of document ids and
 * positions, with tiles that no query of a tile can see skipped without being loaded and tiles that
 * every query sees left unmasked; simple one-warp-per-row kernels for F32 and other head dims.
 *
 * <p>Each call first turns the four metadata vectors into per-token (doc, pos) pairs and per-chunk
 * ranges in a scratch buffer (one small launch); the host never reads them. The backward runs
 * delta = dO . O - dlse, then dK/dV (owned per key block, summed over the group's query heads in a
 * fixed order) and dQ (owned per query block): deterministic, no atomics.
 */
public final class CudaBlockAttentionKernels implements BlockAttentionKernels {
    CudaBlockAttentionKernels() {
    }

    private static Shape shape(Tensor q, Tensor k) {
        return new Shape(Math.toIntExact(q.size(0)), Math.toIntExact(k.size(0)), Math.toIntExact(q.size(1)),
                Math.toIntExact(k.size(1)), Math.toIntExact(q.size(2)));
    }

    /** The metadata of one call, in a scratch buffer owned by the caller's scope. */
    private static Metadata metadata(CudaStream s, Shape sh, Tensor q, Tensor qPos, Tensor kPos, Tensor qDoc,
                                     Tensor kDoc) {
        long bytes = BlockAttentionLaunchers.metadataBytes(sh);
        Tensor scratch = Tensor.empty(DType.I64, q.device(), (bytes + 7) / 8);
        BlockAttentionLaunchers.metadata(s, sh, qPos, kPos, qDoc, kDoc, scratch);
        return Metadata.in(scratch, sh);
    }

    @Override
    public void forward(Tensor q, Tensor k, Tensor v, Tensor qPos, Tensor kPos, Tensor qDoc, Tensor kDoc,
                        boolean causal, float scale, Tensor out, Tensor lse) {
        CudaStream s = CudaTensors.device(out).computeStream();
        Shape sh = shape(q, k);
        try (Scope scope = Scope.open("blockAttention forward")) {
            Metadata m = metadata(s, sh, q, qPos, kPos, qDoc, kDoc);
            BlockAttentionLaunchers.forward(s, sh, m, q, k, v, causal, scale, out, lse);
        }
    }

    @Override
    public void backward(Tensor dout, Tensor dlse, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor qPos,
                         Tensor kPos, Tensor qDoc, Tensor kDoc, boolean causal, float scale, Tensor dq, Tensor dk,
                         Tensor dv) {
        if (dq == null && dk == null && dv == null) {
            return;
        }
        CudaStream s = CudaTensors.device(q).computeStream();
        Shape sh = shape(q, k);
        try (Scope scope = Scope.open("blockAttention backward")) {
            // dO is a product operand next to Q, K, V, so it takes their dtype; O only enters delta,
            // which reads it in its own dtype (ring attention's merged O is F32).
            Tensor g = dout.dtype() == q.dtype() ? dout : GradMode.noGrad(() -> Layout.cast(dout, q.dtype()));
            Metadata m = metadata(s, sh, q, qPos, kPos, qDoc, kDoc);
            Tensor delta = Tensor.empty(DType.F32, q.device(), Math.max(1, (long) sh.hq() * sh.tq()));
            BlockAttentionLaunchers.delta(s, sh, g, out, dlse, delta);
            if (dk != null || dv != null) {
                BlockAttentionLaunchers.backwardKeyValue(s, sh, m, q, k, v, g, lse, delta, causal, scale, dk, dv);
            }
            if (dq != null) {
                BlockAttentionLaunchers.backwardQuery(s, sh, m, q, k, v, g, lse, delta, causal, scale, dq);
            }
        }
    }

    @Override
    public void mergeInto(Tensor accOut, Tensor accLse, Tensor out, Tensor lse) {
        BlockAttentionLaunchers.merge(CudaTensors.device(accOut).computeStream(), accOut, accLse, out, lse);
    }
}
