package dev.panomni.modalities.io;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Shapes;

/**
 * One tensor's header record in a safetensors file.
 *
 * @param name  the tensor's key
 * @param dtype element type
 * @param shape extents (row-major, little-endian data)
 * @param begin first byte, relative to the start of the data section (after the header)
 * @param end   one past the last byte, relative to the data section
 */
public record SafetensorsEntry(String name, DType dtype, long[] shape, long begin, long end) {
    public SafetensorsEntry {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements. */
    public long numel() {
        return Shapes.numel(shape);
    }

    /** Bytes of data: {@code end - begin}. */
    public long byteSize() {
        return end - begin;
    }

    @Override
    public String toString() {
        return name + " " + Shapes.str(shape) + " " + dtype + " [" + begin + ", " + end + ")";
    }
}
