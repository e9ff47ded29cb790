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
 * The language-model head and its cross-entropy fused and chunked: {@code mean over non-ignored
 * t of -log softmax(hidden[t] W^T)[labels[t]]} without ever holding the [tokens, vocab] logits.
 * Tokens are processed in chunks; for each chunk the logits are formed, the loss taken, and the
 * gradients with respect to the hidden states and the head weight computed at once (the
 * gradient of a mean cross-entropy does not depend on other chunks), so backward only scales
 * them by the upstream gradient. Peak extra memory: one [chunk, vocab] block plus the [vocab,
 * hidden] weight gradient. With 150k vocabularies this is what makes long batches fit.
 *
 * <p>Each chunk's loss and gradient come from the backend's fused cross-entropy kernel
 * ({@link LossKernels#crossEntropyFused}), and the loss is summed on the device: on a GPU the only
 * host round trip is the label check at the start (the count of kept labels is the mean's divisor).
 */
public final class LinearCrossEntropy {
    /** Tokens per chunk unless told otherwise. */
    public static final int DEFAULT_CHUNK = 2048;

    private LinearCrossEntropy() {
    }

    /**
     * @param hidden      [T, D]
     * @param weight      [V, D] (the LM head, possibly tied to the embedding)
     * @param labels      I64/I32 [T]; {@code ignoreIndex} entries take no loss
     * @param ignoreIndex label value to skip (usually -100)
     * @param chunk       tokens per chunk
     * @return 0-dim F32 mean loss (0 when every label is ignored)
     */
    public static Tensor loss(Tensor hidden, Tensor weight, Tensor labels, long ignoreIndex, int chunk) {
        String op = "linearCrossEntropy";
        OpChecks.sameDeviceAndDtype(op, hidden, weight);
        OpChecks.sameDevice(op, hidden, labels);
        OpChecks.indexType(op, labels);
        if (hidden.rank() != 2 || weight.rank() != 2 || hidden.size(1) != weight.size(1) || labels.rank() != 1
                || labels.size(0) != hidden.size(0)) {
            throw new TensorOpException(op, "expected hidden [T, D], weight [V, D], labels [T], got hidden "
                    + Shapes.str(hidden.shape()) + ", weight " + Shapes.str(weight.shape()) + ", labels "
                    + Shapes.str(labels.shape()));
        }
        if (chunk < 1) {
            throw new TensorOpException(op, "chunk must be >= 1, got " + chunk);
        }
        long t = hidden.size(0);
        long v = weight.size(0);
        LossKernels kernels = hidden.backend().kernels(LossKernels.class);
        Tensor lab = Views.contiguous(labels);
        // The only host values: the count of kept labels (the mean's divisor) and the first bad label.
        LossKernels.TargetCheck check = kernels.checkTargets(lab, v, ignoreIndex);
        if (check.firstInvalid() >= 0) {
            long bad = lab.narrow(0, check.firstInvalid(), 1).toLongArray()[0];
            throw new TensorOpException(op, "label " + bad + " at position " + check.firstInvalid() + " is outside [0, "
                    + v + ") and is not the ignore index " + ignoreIndex);
        }
        long count = check.counted();
        boolean wantGrad = Autograd.needsRecord(hidden, weight);
        boolean gradHidden = wantGrad && hidden.requiresGrad();
        boolean gradWeight = wantGrad && weight.requiresGrad();
        double scale = count == 0 ? 0.0 : 1.0 / count;
        Tensor[] results = GradMode.noGrad(() -> {
            // On a backend whose GEMM takes 16-bit operands with fp32 results (cuBLASLt) the products
            // run on the operands as they are (bf16): logits in the operands' dtype, as PyTorch's
            // bf16 LM head produces them, the loss and its gradient computed from them in fp32 by the
            // fused kernel, which writes the gradient over the logits; the gradient sums over the
            // chunks stay fp32. Elsewhere the weight is widened once and everything is fp32.
            Tensor w = Linalg.multipliesIntoF32(weight) ? weight : Layout.cast(weight, DType.F32);
            Tensor dHidden = gradHidden ? Tensor.empty(DType.F32, hidden.device(), t, hidden.size(1)) : null;
            Tensor dWeight = gradWeight ? Tensor.zeros(DType.F32, hidden.device(), v, hidden.size(1)) : null;
            // Summed on the device: no value comes back to the host per chunk.
            Tensor total = Tensor.zeros(DType.F32, hidden.device());
            for (long start = 0; start < t; start += chunk) {
                long len = Math.min(chunk, t - start);
                try (Scope s = Scope.open("lceChunk")) {
                    Tensor h = Layout.cast(hidden.narrow(0, start, len), w.dtype());
                    Tensor y = lab.narrow(0, start, len);
                    Tensor logits = Linalg.matmul(h, w.t());                           // [len, V], w's dtype
                    Tensor rowLoss = Tensor.empty(DType.F32, hidden.device(), len);
                    if (dHidden != null || dWeight != null) {
                        // The logits become d(mean CE)/dlogits = (softmax - onehot) / count, zero on ignored rows.
                        kernels.crossEntropyFused(logits, y, ignoreIndex, scale, rowLoss, logits);
                        if (dHidden != null) {
                            Linalg.productF32Into(logits, w, dHidden.narrow(0, start, len), 1f, 0f);
                        }
                        if (dWeight != null) {
                            Linalg.productF32Into(logits.t(), h, dWeight, 1f, 1f);
                        }
                    } else {
                        kernels.crossEntropyForward(logits, y, ignoreIndex, rowLoss, null);
                    }
                    Arith.addInPlace(total, Reductions.sumAll(rowLoss));
                }
            }
            Tensor lossT = Arith.mulScalar(total, scale);
            return new Tensor[] {lossT, dHidden, dWeight};
        });
        Tensor out = results[0];
        if (wantGrad) {
            Autograd.record(new Node(op, hidden, weight) {
                final Tensor dh = results[1] != null ? save(results[1]) : null;
                final Tensor dw = results[2] != null ? save(results[2]) : null;

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor up = g[0];
                    Tensor gh = dh == null ? null : Layout.cast(Arith.mul(dh, up), hidden.dtype());
                    Tensor gw = dw == null ? null : Layout.cast(Arith.mul(dw, up), weight.dtype());
                    return new Tensor[] {gh, gw};
                }
            }, out);
            if (results[1] != null) {
                results[1].close();
            }
            if (results[2] != null) {
                results[2].close();
            }
        }
        return out;
    }
}
