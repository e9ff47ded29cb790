package dev.panomni.tensor.cpu;

import dev.panomni.tensor.BFloat16;
import dev.panomni.tensor.DType;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class BFloat16LanesTest {
    @Test
    void vectorNarrowingAndWideningMatchTheScalarConversionBitForBit() {
        int lanes = FloatVector.SPECIES_PREFERRED.length();
        Random rng = new Random(9);
        int[] special = {0x7FC0_0001, 0x7F80_0001, 0xFF80_0001, 0x7F80_0000, 0xFF80_0000, 0x0000_8000, 0x0001_8000,
                0x0000_7FFF, 0x3F80_8000, 0x3F81_8000, 0x7F7F_FFFF, 0x8000_0001, 0};
        try (Arena arena = Arena.ofConfined()) {
            int n = 1 << 16;
            MemorySegment f = arena.allocate(4L * n, 64);
            MemorySegment h = arena.allocate(2L * n, 64);
            for (int i = 0; i < n; i++) {
                int bits = i < special.length ? special[i] : rng.nextInt();
                f.setAtIndex(ValueLayout.JAVA_FLOAT, i, Float.intBitsToFloat(bits));
            }
            for (int i = 0; i + lanes <= n; i += lanes) {
                BFloat16Lanes.store(BFloat16Lanes.load(f, DType.F32, i), h, DType.BF16, i);
            }
            for (int i = 0; i < n; i++) {
                float x = f.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                short got = h.getAtIndex(ValueLayout.JAVA_SHORT, i);
                assertEquals(BFloat16.fromFloat(x), got, "bits " + Integer.toHexString(Float.floatToRawIntBits(x)));
            }
            for (int i = 0; i + lanes <= n; i += lanes) {
                BFloat16Lanes.store(BFloat16Lanes.load(h, DType.BF16, i), f, DType.F32, i);
            }
            for (int i = 0; i < n; i++) {
                assertEquals(Float.floatToRawIntBits(BFloat16.toFloat(h.getAtIndex(ValueLayout.JAVA_SHORT, i))),
                        Float.floatToRawIntBits(f.getAtIndex(ValueLayout.JAVA_FLOAT, i)));
            }
        }
    }
}
