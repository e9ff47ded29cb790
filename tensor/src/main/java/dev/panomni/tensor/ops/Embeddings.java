package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;

/** Token embedding lookup; the backward adds each token's gradient row into the weight gradient. */
public final class Embeddings {
    private Embeddings() {
    }

    static EmbeddingKernels kernels(Tensor t) {
        return t.backend().kernels(EmbeddingKernels.class);
    }

    /**
     * Rows of {@code weight} picked by {@code ids}.
     *
     * @param weight [V, D] floating (the embedding table; rows are copied in its dtype)
     * @param ids    [...] I64 or I32 token ids in [0, V), same device; an id out of range throws
     *               {@link TensorOpException} naming the id and V (on a GPU backend, at its next
     *               synchronization)
     * @return [..., D] in weight's dtype
     */
    public static Tensor embedding(Tensor weight, Tensor ids) {
        String op = "embedding";
        OpChecks.sameDevice(op, weight, ids);
        OpChecks.floating(op, weight);
        OpChecks.indexType(op, ids);
        if (weight.rank() != 2) {
            throw new TensorOpException(op, "weight must be [V, D], got shape " + Shapes.str(weight.shape()));
        }
        long v = weight.size(0);
        long d = weight.size(1);
        long n = ids.numel();
        long[] idShape = ids.shape();
        long[] outShape = java.util.Arrays.copyOf(idShape, idShape.length + 1);
        outShape[idShape.length] = d;
        DType dtype = weight.dtype();
        boolean record = Autograd.needsRecord(weight);
        Tensor[] res = GradMode.noGrad(() -> {
            try (Scope s = Scope.open(op)) {
                Tensor wc = WorkingCopies.contiguous(weight);
                Tensor ic = WorkingCopies.contiguous(ids);
                Tensor out = Tensor.empty(dtype, weight.device(), n, d);
                kernels(weight).embeddingForward(wc, ic.view(n), out);
                return new Tensor[] {s.keep(out.view(outShape)), record ? s.keep(ic) : null};
            }
        });
        Tensor out = res[0];
        if (record) {
            Autograd.record(new Node(op, weight) {
                final Tensor savedIds = save(res[1]);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor dw = WorkingCopies.input(g[0]);
                    Tensor dweight = Tensor.zeros(DType.F32, dw.device(), v, d);
                    kernels(dw).embeddingBackward(dw.view(n, d), savedIds.view(n), dweight);
                    return new Tensor[] {WorkingCopies.finish(dweight, dtype)};
                }
            }, out);
            res[1].close();
        }
        return out;
    }
}
