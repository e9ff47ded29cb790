package dev.panomni.trainer;

import dev.panomni.trainer.config.ScheduleKind;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LrScheduleTest {
    @Test
    void warmupThenCosineToTheFloor() {
        LrSchedule s = new LrSchedule(ScheduleKind.COSINE, 1e-3, 10, 110, 0.1);
        assertEquals(1e-4, s.lr(1), 1e-15);
        assertEquals(1e-3, s.lr(10), 1e-15);
        assertEquals(1e-4 + 0.9e-3 * 0.5, s.lr(60), 1e-12, "half way through the decay");
        assertEquals(1e-4, s.lr(110), 1e-15);
        assertEquals(1e-4, s.lr(500), 1e-15, "stays at the floor past the end");
    }

    @Test
    void linearAndConstant() {
        LrSchedule lin = new LrSchedule(ScheduleKind.LINEAR, 2.0, 0, 100, 0.0);
        assertEquals(2.0, lin.lr(0), 1e-12);
        assertEquals(1.0, lin.lr(50), 1e-12);
        assertEquals(0.0, lin.lr(100), 1e-12);
        LrSchedule c = new LrSchedule(ScheduleKind.CONSTANT, 0.5, 4, 100, 0.1);
        assertEquals(0.25, c.lr(2), 1e-12);
        assertEquals(0.5, c.lr(99), 1e-12);
    }
}
