package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * Kernels that read or accumulate elements at positions given by an index tensor. Index tensors are
 * I64 or I32 and contiguous; every index must lie in {@code [0, size)} of the indexed dim, and a
 * kernel that meets one outside throws a {@link dev.panomni.tensor.TensorOpException} naming the op,
 * the index value and the allowed range (a device backend may report it at its next
 * synchronization). Accumulating kernels must be deterministic: each destination element receives
 * its contributions in ascending source order, so no racing float additions.
 *
 * <p>Data tensors are of one dtype, on this backend's device. The gathering kernels move elements of
 * any dtype; the accumulating ones get the dtypes the backend computes natively (the front end
 * widens the rest) and never BOOL.
 */
public interface IndexingKernels {
    /**
     * {@code out[p] = src[p with coordinate dim replaced by index[p]]} for every position p of
     * {@code index}'s shape (torch.gather). {@code index} and {@code out} are contiguous of one
     * shape; {@code src} has that shape on every dim but {@code dim}, and any strides.
     */
    void gather(Tensor src, int dim, Tensor index, Tensor out);

    /**
     * {@code dst[p with coordinate dim replaced by index[p]] += src[p]} for every position p of
     * {@code index}'s shape (torch.scatter_add_), in place. {@code index} is contiguous; {@code src}
     * has index's shape and {@code dst} has it on every dim but {@code dim}; both any strides.
     */
    void scatterAdd(Tensor dst, int dim, Tensor index, Tensor src);

    /**
     * {@code out[.., j, ..] = src[.., index[j], ..]} along {@code dim} (torch.index_select). {@code src}
     * and {@code out} are contiguous and equal but along {@code dim}, where out has {@code n} entries
     * for {@code index [n]}.
     */
    void indexSelect(Tensor src, int dim, Tensor index, Tensor out);

    /**
     * {@code dst[.., index[j], ..] += src[.., j, ..]} along {@code dim} (torch.index_add_), in place.
     * {@code dst} and {@code src} are contiguous and equal but along {@code dim}, where src has
     * {@code n} entries for {@code index [n]}. All indices are checked before {@code dst} is
     * written, so a bad index leaves it untouched.
     */
    void indexAdd(Tensor dst, int dim, Tensor index, Tensor src);
}
