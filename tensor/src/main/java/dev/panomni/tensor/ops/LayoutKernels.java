package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/** Kernels that move and fill elements: the basis of views, casts and device transfers. */
public interface LayoutKernels {
    /** Sets every element of {@code dst} (any strides) to {@code value}, rounded to its dtype. */
    void fill(Tensor dst, double value);

    /**
     * Copies {@code src} into {@code dst} element by element; both have the same shape and may have
     * any strides (src may be an expanded view with zero strides) and different dtypes (converted,
     * floats to integers truncating toward zero). Both live on this backend's device.
     */
    void copy(Tensor src, Tensor dst);
}
