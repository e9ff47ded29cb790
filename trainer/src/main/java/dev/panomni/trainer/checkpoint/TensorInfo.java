package dev.panomni.trainer.checkpoint;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Shapes;

/**
 * A stored tensor's dtype and shape, read from a file header without loading the data.
 *
 * @param dtype element type
 * @param shape extents
 */
public record TensorInfo(DType dtype, long[] shape) {
    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && dtype == t.dtype && java.util.Arrays.equals(shape, t.shape);
    }

    @Override
    public int hashCode() {
        return dtype.hashCode() * 31 + java.util.Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return Shapes.str(shape) + " " + dtype;
    }
}
