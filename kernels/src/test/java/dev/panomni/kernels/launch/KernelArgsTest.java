package dev.panomni.kernels.launch;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

/** The packed form cuLaunchKernel reads: pointers to naturally aligned values, structs by value. */
class KernelArgsTest {
    @Test
    void valuesAreAlignedAndPointedTo() {
        try (KernelArgs a = KernelArgs.open()) {
            a.i32(7).i64(-5L).f64(2.5).strided(new long[] {3, 4}, new long[] {4, 1}).i32(9);
            assertEquals(5, a.count());
            MemorySegment p = a.pointerArray();
            MemorySegment v0 = p.getAtIndex(ADDRESS, 0).reinterpret(4);
            MemorySegment v1 = p.getAtIndex(ADDRESS, 1).reinterpret(8);
            MemorySegment v2 = p.getAtIndex(ADDRESS, 2).reinterpret(8);
            MemorySegment v3 = p.getAtIndex(ADDRESS, 3).reinterpret(136);
            assertEquals(7, v0.get(JAVA_INT, 0));
            assertEquals(-5L, v1.get(JAVA_LONG, 0));
            assertEquals(2.5, v2.get(JAVA_DOUBLE, 0));
            assertEquals(0, v1.address() % 8);
            assertEquals(0, v3.address() % 8);
            // struct Strided { int rank; int pad; long long shape[8]; long long stride[8]; }
            assertEquals(2, v3.get(JAVA_INT, 0));
            assertEquals(0, v3.get(JAVA_INT, 4));
            assertEquals(3, v3.get(JAVA_LONG, 8));
            assertEquals(4, v3.get(JAVA_LONG, 16));
            assertEquals(0, v3.get(JAVA_LONG, 24));
            assertEquals(4, v3.get(JAVA_LONG, 72));
            assertEquals(1, v3.get(JAVA_LONG, 80));
            assertEquals(9, p.getAtIndex(ADDRESS, 4).reinterpret(4).get(JAVA_INT, 0));
        }
    }

    @Test
    void nestedUseGetsItsOwnBuffer() {
        try (KernelArgs outer = KernelArgs.open()) {
            outer.i32(1);
            try (KernelArgs inner = KernelArgs.open()) {
                assertNotSame(outer, inner);
                inner.i32(2);
            }
            assertEquals(1, outer.pointerArray().getAtIndex(ADDRESS, 0).reinterpret(4).get(JAVA_INT, 0));
        }
    }
}
