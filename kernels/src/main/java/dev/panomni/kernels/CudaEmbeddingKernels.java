package dev.panomni.kernels;

import dev.panomni.kernels.launch.IndexingLaunchers;
import dev.panomni.kernels.launch.SortLaunchers;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.ops.EmbeddingKernels;

/**
 * CUDA embedding. Forward: an index-select of weight rows (16-byte units where the rows allow),
 * with the ids checked on the device and a bad id reported here (this waits for the device).
 * Backward, deterministic without float atomics: the ids are sorted on the device as keys
 * {@code id << 32 | position} (bitonic, sort.cu), so each weight row's tokens form a run in
 * ascending position; one block per run adds its gradient rows into the row in token order, each
 * column in a register (indexing.cu sorted_index_add). Every weight-gradient element is summed in
 * the same order as the CPU backend's loop.
 */
public final class CudaEmbeddingKernels implements EmbeddingKernels {
    CudaEmbeddingKernels() {
    }

    @Override
    public void embeddingForward(Tensor weight, Tensor ids, Tensor out) {
        long v = weight.size(0);
        long d = weight.size(1);
        CudaStream s = CudaTensors.device(out).computeStream();
        try (Scope scope = Scope.open("embedding")) {
            Tensor bad = DeviceIndexErrors.slot(s, out);
            IndexingLaunchers.indexSelect(s, weight, 1, v, d, ids, out, bad, "EmbeddingKernels.embeddingForward "
                    + weight.describe());
            long at = DeviceIndexErrors.firstBad(s, bad);
            if (at >= 0) {
                long id = DeviceIndexErrors.indexAt(ids, at);
                throw new TensorOpException("embedding", "id " + id + " at position " + at + " is out of range for a"
                        + " vocabulary of V=" + v + " (weight " + Shapes.str(weight.shape()) + "); ids must be in [0, "
                        + v + ")");
            }
        }
    }

    @Override
    public void embeddingBackward(Tensor dout, Tensor ids, Tensor dweight) {
        long n = ids.numel();
        if (n == 0) {
            return;
        }
        CudaStream s = CudaTensors.device(dweight).computeStream();
        try (Scope scope = Scope.open("embeddingBackward")) {
            Tensor keys = Tensor.empty(DType.I64, dweight.device(), SortLaunchers.paddedLength(n));
            SortLaunchers.sortIndexKeys(s, ids, keys);
            Tensor bad = DeviceIndexErrors.slot(s, dweight);
            IndexingLaunchers.sortedIndexAdd(s, keys, n, 1, dweight.size(0), dweight.size(1), dout, dweight, bad,
                    "EmbeddingKernels.embeddingBackward " + dweight.describe());
        }
    }
}
