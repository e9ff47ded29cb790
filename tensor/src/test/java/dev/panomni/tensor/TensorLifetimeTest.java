package dev.panomni.tensor;

import dev.panomni.tensor.ops.Arith;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Scopes own tensors, views share storage, released tensors fail loudly. */
class TensorLifetimeTest {
    @Test
    void closingAScopeReleasesItsTensorsAndFreesUnreferencedStorage() {
        Tensor kept;
        Storage storage;
        try (Scope outer = Scope.open("outer")) {
            try (Scope inner = Scope.open("inner")) {
                Tensor a = Tensor.ones(4, 4);
                storage = a.storage();
                kept = inner.keep(Arith.mulScalar(a, 3));
                assertEquals(1, storage.referenceCount());
            }
            assertTrue(storage.isFreed(), "a's storage is freed with its scope");
            assertArrayEquals(new float[] {3, 3, 3}, kept.narrow(1, 0, 3).narrow(0, 0, 1).reshape(3).toFloatArray());
        }
        assertTrue(kept.isReleased());
        ReleasedTensorException e = assertThrows(ReleasedTensorException.class, () -> Arith.add(kept, kept));
        assertTrue(e.getMessage().contains("[4, 4]") && e.getMessage().contains("outer"), e.getMessage());
    }

    @Test
    void viewsAliasStorage() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.of(new float[] {0, 1, 2, 3, 4, 5}, 2, 3);
            Tensor t = a.transpose(0, 1);
            Tensor n = a.narrow(1, 1, 2);
            Tensor r = a.view(3, 2);
            Tensor e = Tensor.of(new float[] {7, 8, 9}, 1, 3).expand(4, 3);
            assertSame(a.storage(), t.storage());
            assertSame(a.storage(), n.storage());
            assertSame(a.storage(), r.storage());
            assertArrayEquals(new long[] {1, 3}, t.strides());
            assertFalse(t.isContiguous());
            assertArrayEquals(new long[] {0, 1}, e.strides());
            // Writing through the original is visible in every view.
            a.data().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 4, 40f);
            assertEquals(40f, t.getFloat(1, 1));
            assertEquals(40f, n.getFloat(1, 0));
            assertEquals(40f, r.getFloat(2, 0));
            assertArrayEquals(new float[] {0, 3, 1, 40, 2, 5}, t.contiguous().toFloatArray());
            assertArrayEquals(new float[] {7, 8, 9, 7, 8, 9, 7, 8, 9, 7, 8, 9}, e.toFloatArray());
            // contiguous() of a contiguous tensor shares storage; of a transposed view copies.
            assertSame(a.storage(), a.contiguous().storage());
            assertFalse(a.storage() == t.contiguous().storage());
            // slice with a step, squeeze/unsqueeze, permute.
            Tensor st = Tensor.of(new float[] {0, 1, 2, 3, 4, 5, 6}, 7).slice(0, 1, 7, 2);
            assertArrayEquals(new float[] {1, 3, 5}, st.toFloatArray());
            assertArrayEquals(new long[] {2, 1, 3}, a.unsqueeze(1).shape());
            assertArrayEquals(new long[] {2, 3}, a.unsqueeze(1).squeeze(1).shape());
            assertArrayEquals(new long[] {3, 1, 2}, a.unsqueeze(0).permute(2, 0, 1).shape());
            // view of a transposed tensor needs a copy; reshape makes it.
            assertThrows(TensorOpException.class, () -> t.view(6));
            assertArrayEquals(new float[] {0, 3, 1, 40, 2, 5}, t.reshape(6).toFloatArray());
        }
    }

    @Test
    void viewBackwardsMapGradientsBack() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).requiresGrad(true);
            Tensor y = a.transpose(0, 1).narrow(0, 1, 2).reshape(4);   // [2, 5, 3, 6]
            assertArrayEquals(new float[] {2, 5, 3, 6}, y.toFloatArray());
            y.backward(Tensor.of(new float[] {10, 20, 30, 40}, 4));
            assertArrayEquals(new float[] {0, 10, 30, 0, 20, 40}, a.grad().toFloatArray());
            Tensor b = Tensor.of(new float[] {1, 2}, 2, 1).requiresGrad(true);
            b.expand(2, 3).backward(Tensor.ones(2, 3));
            assertArrayEquals(new float[] {3, 3}, b.grad().toFloatArray());
        }
    }

    @Test
    void badShapesAndDevicesAreNamedErrors() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.zeros(2, 3);
            TensorOpException e = assertThrows(TensorOpException.class, () -> a.view(4, 2));
            assertTrue(e.getMessage().startsWith("view:") && e.getMessage().contains("[2, 3]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> a.narrow(1, 2, 2));
            assertTrue(e.getMessage().contains("slice") && e.getMessage().contains("[2, 3]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> a.transpose(0, 2));
            assertTrue(e.getMessage().contains("dim 2 is out of range"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> a.expand(3, 3));
            assertTrue(e.getMessage().contains("expand"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> a.getFloat(2, 0));
            assertTrue(e.getMessage().contains("out of bounds"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Device.parse("tpu"));
            assertThrows(TensorOpException.class, () -> Tensor.of(new float[] {1, 2, 3}, 2, 2));
        }
    }

    @Test
    void scopesMustCloseInOrderOnTheirThread() {
        Scope outer = Scope.open("outer");
        Scope inner = Scope.open("inner");
        IllegalStateException e = assertThrows(IllegalStateException.class, outer::close);
        assertTrue(e.getMessage().contains("out of order"));
        inner.close();
        outer.close();
    }

    @Test
    void autogradReleasesSavedTensorsAfterBackward() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, 2, 3}, 3).requiresGrad(true);
            Storage saved;
            Tensor y;
            try (Scope fwd = Scope.open("forward")) {
                Tensor h = Arith.mulScalar(x, 2);         // saved by the next mul
                saved = h.storage();
                y = fwd.keep(Arith.mul(h, h));
            }
            assertFalse(saved.isFreed(), "saved for backward, so alive after the forward scope closed");
            y.backward(Tensor.ones(3));
            assertTrue(saved.isFreed(), "freed once backward used it");
            assertArrayEquals(new float[] {8, 16, 24}, x.grad().toFloatArray());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> y.backward(Tensor.ones(3)));
            assertTrue(e.getMessage().contains("second time"), e.getMessage());
        }
    }
}
