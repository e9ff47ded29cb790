package dev.panomni.tensor.autograd;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.Reductions;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RecomputeStashTest {
    @Test
    void valuesComeBackInOrderDuringTheReplayOnly() {
        try (RecomputeStash stash = new RecomputeStash("block")) {
            assertNull(RecomputeStash.current());
            stash.recording(() -> {
                assertSame(stash, RecomputeStash.current());
                RecomputeStash.current().put("plan");
                RecomputeStash.current().put(42);
                return null;
            });
            assertNull(RecomputeStash.current(), "the stash is current only inside the block");
            stash.replaying(() -> {
                assertTrue(stash.replaying());
                assertEquals("plan", stash.take(String.class));
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> stash.take(String.class));
                assertTrue(e.getMessage().contains("asked for a String but the first run saved a Integer"), e.getMessage());
                e = assertThrows(IllegalStateException.class, () -> stash.put("late"));
                assertTrue(e.getMessage().contains("put during the recomputation"), e.getMessage());
                return null;
            });
        }
    }

    @Test
    void heldTensorsOutliveTheForwardScopeUntilTheStashCloses() {
        RecomputeStash stash = new RecomputeStash("block");
        Tensor held;
        try (Scope s = Scope.open("forward")) {
            held = stash.recording(() -> stash.hold(Tensor.of(new float[] {1, 2, 3}, 3)));
        }
        assertArrayEquals(new float[] {1, 2, 3}, held.toFloatArray(), "still readable after the scope closed");
        stash.close();
        assertThrows(IllegalStateException.class, held::toFloatArray);
    }

    @Test
    void checkpointReplaysWhatTheFirstRunSaved() {
        AtomicInteger computed = new AtomicInteger();
        try (Scope s = Scope.open("test")) {
            Tensor x = Tensor.of(new float[] {1, 2, 3}, 3).requiresGrad(true);
            Tensor y = Checkpoint.run(in -> {
                RecomputeStash stash = RecomputeStash.current();
                float scale;
                if (stash.replaying()) {
                    scale = stash.take(Float.class);
                } else {
                    scale = computed.incrementAndGet() + 1f;    // "costly", and different if run again
                    stash.put(scale);
                }
                return Arith.mul(in[0], Tensor.of(new float[] {scale}, 1));
            }, x);
            Reductions.sumAll(y).backward();
            assertEquals(1, computed.get(), "the recomputation took the saved value");
            assertArrayEquals(new float[] {2, 2, 2}, x.grad().toFloatArray());
        }
    }
}
