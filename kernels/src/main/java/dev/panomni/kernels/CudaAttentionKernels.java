package dev.panomni.kernels;

import dev.panomni.kernels.launch.AttentionLaunchers;
import dev.panomni.kernels.launch.AttentionLaunchers.Shape;
import dev.panomni.kernels.launch.IndexingLaunchers;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Storage;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.ops.AttentionKernels;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * CUDA flash attention (attention.cu): tensor-core kernels (mma.sync, bf16/f16, head dim 64 and
 * 128) with online softmax and the per-row log-sum-exp saved; a deterministic backward in three
 * launches (delta = dO . O; dK/dV owned per key block, summed over the group's query heads in a
 * fixed order; dQ owned per query block). Other dtypes and head dims run simple one-warp-per-row
 * kernels.
 *
 * <p>cuSeqlens is read on the device only. It is validated by a one-thread kernel, and the answer
 * is brought to the host (a wait) the first time a given cuSeqlens tensor is used; the attention
 * kernels clamp every document bound to [0, T], so even malformed offsets never address memory
 * outside the tensors. The tensors already validated are remembered by storage (weakly), so the
 * layers of a step, forward and backward, wait once.
 */
public final class CudaAttentionKernels implements AttentionKernels {
    /** Validated cuSeqlens: storage -> {offset, count, T}. */
    private final Map<Storage, long[]> validated = Collections.synchronizedMap(new WeakHashMap<>());

    CudaAttentionKernels() {
    }

    private static Shape shape(Tensor q, Tensor k, Tensor cu) {
        return new Shape(Math.toIntExact(q.size(0)), Math.toIntExact(q.size(1)), Math.toIntExact(k.size(1)),
                Math.toIntExact(q.size(2)), cu);
    }

    @Override
    public void forward(Tensor q, Tensor k, Tensor v, Tensor cuSeqlens, boolean causal, float scale, Tensor out,
                        Tensor lse) {
        CudaStream s = CudaTensors.device(out).computeStream();
        Shape sh = shape(q, k, cuSeqlens);
        checkDocuments(s, cuSeqlens, sh.tokens());
        AttentionLaunchers.forward(s, sh, q, k, v, causal, scale, out, lse);
    }

    @Override
    public void backward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor cuSeqlens,
                         boolean causal, float scale, Tensor dq, Tensor dk, Tensor dv) {
        CudaStream s = CudaTensors.device(q).computeStream();
        Shape sh = shape(q, k, cuSeqlens);
        checkDocuments(s, cuSeqlens, sh.tokens());
        if (dq == null && dk == null && dv == null) {
            return;
        }
        try (Scope scope = Scope.open("sdpa backward")) {
            Tensor delta = Tensor.empty(DType.F32, q.device(), Math.max(1, (long) sh.hq() * sh.tokens()));
            AttentionLaunchers.delta(s, sh, dout, out, delta);
            if (dk != null || dv != null) {
                AttentionLaunchers.backwardKeyValue(s, sh, q, k, v, dout, lse, delta, causal, scale, dk, dv);
            }
            if (dq != null) {
                AttentionLaunchers.backwardQuery(s, sh, q, k, v, dout, lse, delta, causal, scale, dq);
            }
        }
    }

    /** Throws the CPU backend's error for malformed cuSeqlens; each tensor is checked once. */
    private void checkDocuments(CudaStream s, Tensor cu, int tokens) {
        if (cu == null) {
            return;
        }
        Storage storage = cu.storage();
        long[] key = {cu.offset(), cu.numel(), tokens};
        if (Arrays.equals(validated.get(storage), key)) {
            return;
        }
        try (Scope scope = Scope.open("cuSeqlens check")) {
            Tensor bad = Tensor.empty(DType.I64, cu.device(), 1);
            AttentionLaunchers.checkCuSeqlens(s, cu, tokens, bad);
            if (IndexingLaunchers.readBad(s, bad) != IndexingLaunchers.NONE) {
                throw new TensorOpException("sdpa", "cuSeqlens " + Arrays.toString(cu.toLongArray()) + " must start at 0,"
                        + " never decrease and end at T=" + tokens + " (the token count of q [T, H, D])");
            }
        }
        validated.put(storage, key);
    }
}
