package dev.panomni.nn.optim;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LrScheduleTest {
    @Test
    void constantWithWarmup() {
        LrSchedule s = LrSchedule.constant(3e-4, 4);
        assertEquals(0.75e-4, s.lrAt(0), 1e-15);
        assertEquals(3e-4, s.lrAt(3), 1e-15);
        assertEquals(3e-4, s.lrAt(1_000_000), 1e-15);
        assertEquals(1.0, LrSchedule.constant(1, 0).multiplierAt(0));
    }

    @Test
    void warmupThenCosineToMinRatio() {
        LrSchedule s = LrSchedule.warmupCosine(1e-3, 10, 110, 0.1);
        assertEquals(1e-4, s.lrAt(0), 1e-15);
        assertEquals(5e-4, s.lrAt(4), 1e-15);
        assertEquals(1e-3, s.lrAt(9), 1e-15);
        assertEquals(1e-3, s.lrAt(10), 1e-15);
        // Halfway through decay: min + (1 - min) / 2.
        assertEquals(0.55e-3, s.lrAt(60), 1e-15);
        // A quarter: min + (1 - min) * (1 + cos(pi/4)) / 2.
        assertEquals(1e-3 * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI / 4))), s.lrAt(35), 1e-15);
        assertEquals(1e-4, s.lrAt(110), 1e-15);
        assertEquals(1e-4, s.lrAt(5000), 1e-15);
    }

    @Test
    void warmupThenLinear() {
        LrSchedule s = LrSchedule.warmupLinear(2.0, 2, 12, 0.0);
        assertEquals(1.0, s.lrAt(0), 1e-12);
        assertEquals(2.0, s.lrAt(1), 1e-12);
        assertEquals(2.0, s.lrAt(2), 1e-12);
        assertEquals(1.0, s.lrAt(7), 1e-12);
        assertEquals(0.2, s.lrAt(11), 1e-12);
        assertEquals(0.0, s.lrAt(12), 1e-12);
        LrSchedule floor = LrSchedule.warmupLinear(1.0, 0, 10, 0.5);
        assertEquals(1.0, floor.multiplierAt(0), 1e-12);
        assertEquals(0.75, floor.multiplierAt(5), 1e-12);
        assertEquals(0.5, floor.multiplierAt(99), 1e-12);
    }

    @Test
    void badArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.warmupCosine(1, 10, 5, 0));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.warmupLinear(1, 0, 5, 1.5));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.constant(-1, 0));
    }
}
