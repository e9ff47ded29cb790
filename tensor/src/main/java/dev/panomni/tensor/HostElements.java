package dev.panomni.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Reads and writes single elements of host memory of any dtype, as float, double or long. */
public final class HostElements {
    private HostElements() {
    }

    /** Element {@code index} (in elements from the segment start) as a float. */
    public static float getFloat(MemorySegment seg, DType dtype, long index) {
        return switch (dtype) {
            case F32 -> seg.getAtIndex(ValueLayout.JAVA_FLOAT, index);
            case BF16 -> BFloat16.toFloat(seg.getAtIndex(ValueLayout.JAVA_SHORT, index));
            case F16 -> Float16.toFloat(seg.getAtIndex(ValueLayout.JAVA_SHORT, index));
            case I32 -> seg.getAtIndex(ValueLayout.JAVA_INT, index);
            case I64 -> seg.getAtIndex(ValueLayout.JAVA_LONG, index);
            case U8, BOOL -> seg.get(ValueLayout.JAVA_BYTE, index) & 0xFF;
        };
    }

    /** Stores {@code value} at element {@code index}, rounding to the dtype (integers truncate toward zero). */
    public static void setFloat(MemorySegment seg, DType dtype, long index, float value) {
        switch (dtype) {
            case F32 -> seg.setAtIndex(ValueLayout.JAVA_FLOAT, index, value);
            case BF16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT, index, BFloat16.fromFloat(value));
            case F16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT, index, Float16.fromFloat(value));
            case I32 -> seg.setAtIndex(ValueLayout.JAVA_INT, index, (int) value);
            case I64 -> seg.setAtIndex(ValueLayout.JAVA_LONG, index, (long) value);
            case U8 -> seg.set(ValueLayout.JAVA_BYTE, index, (byte) (int) value);
            case BOOL -> seg.set(ValueLayout.JAVA_BYTE, index, (byte) (value != 0 ? 1 : 0));
        }
    }

    /** Element {@code index} as a long (floats truncate toward zero). */
    public static long getLong(MemorySegment seg, DType dtype, long index) {
        return switch (dtype) {
            case I64 -> seg.getAtIndex(ValueLayout.JAVA_LONG, index);
            case I32 -> seg.getAtIndex(ValueLayout.JAVA_INT, index);
            case U8, BOOL -> seg.get(ValueLayout.JAVA_BYTE, index) & 0xFF;
            default -> (long) getFloat(seg, dtype, index);
        };
    }

    /** Stores a long at element {@code index} (floats round to the dtype). */
    public static void setLong(MemorySegment seg, DType dtype, long index, long value) {
        switch (dtype) {
            case I64 -> seg.setAtIndex(ValueLayout.JAVA_LONG, index, value);
            case I32 -> seg.setAtIndex(ValueLayout.JAVA_INT, index, (int) value);
            case U8 -> seg.set(ValueLayout.JAVA_BYTE, index, (byte) value);
            case BOOL -> seg.set(ValueLayout.JAVA_BYTE, index, (byte) (value != 0 ? 1 : 0));
            default -> setFloat(seg, dtype, index, (float) value);
        }
    }
}
