package dev.panomni.tensor.cpu;

import dev.panomni.tensor.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Loads and stores of one {@link FloatVector#SPECIES_PREFERRED} vector from F32 or BF16 memory.
 * BF16 widening is a 16-bit shift; narrowing rounds to nearest even and keeps NaNs quiet, bit for
 * bit as {@link dev.panomni.tensor.BFloat16#fromFloat}.
 */
final class BFloat16Lanes {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(F.vectorBitSize()));
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class,
            VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final ByteOrder LE = ByteOrder.nativeOrder();

    private BFloat16Lanes() {
    }

    /** Whether {@link #load} and {@link #store} handle {@code dtype}. */
    static boolean vectorizable(DType dtype) {
        return dtype == DType.F32 || dtype == DType.BF16;
    }

    /** Elements [index, index + lanes) of {@code seg} (F32 or BF16) as floats. */
    static FloatVector load(MemorySegment seg, DType dtype, long index) {
        if (dtype == DType.F32) {
            return FloatVector.fromMemorySegment(F, seg, index * 4, LE);
        }
        ShortVector s = ShortVector.fromMemorySegment(S, seg, index * 2, LE);
        IntVector wide = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
        return wide.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** Stores {@code v} at elements [index, index + lanes) of {@code seg} (F32, or BF16 rounded). */
    static void store(FloatVector v, MemorySegment seg, DType dtype, long index) {
        if (dtype == DType.F32) {
            v.intoMemorySegment(seg, index * 4, LE);
            return;
        }
        IntVector bits = v.reinterpretAsInts();
        IntVector lsb = bits.lanewise(VectorOperators.LSHR, 16).and(1);
        IntVector rounded = bits.add(lsb).add(0x7FFF).lanewise(VectorOperators.LSHR, 16);
        VectorMask<Integer> nan = bits.and(0x7FFF_FFFF).compare(VectorOperators.GT, 0x7F80_0000);
        IntVector quiet = bits.lanewise(VectorOperators.LSHR, 16).or(0x0040);
        IntVector out = rounded.blend(quiet, nan);
        ShortVector narrow = (ShortVector) out.convertShape(VectorOperators.I2S, S, 0);
        narrow.intoMemorySegment(seg, index * 2, LE);
    }
}
