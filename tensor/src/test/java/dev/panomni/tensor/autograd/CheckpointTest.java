package dev.panomni.tensor.autograd;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Storage;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Arith;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointTest {
    static float[] random(Random rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = rng.nextFloat() * 2 - 1;
        }
        return v;
    }

    /** A block with a captured parameter: y = (x*w + x) * (x*w) + b, recording every intermediate's storage. */
    static Function<Tensor[], Tensor> block(Tensor w, Tensor b, List<Storage> intermediates) {
        return in -> {
            Tensor x = in[0];
            Tensor xw = Arith.mul(x, w);
            Tensor u = Arith.add(xw, x);
            Tensor v = Arith.mul(u, xw);
            intermediates.add(xw.storage());
            intermediates.add(u.storage());
            return Arith.add(v, in[1] != null ? in[1] : b);
        };
    }

    record Grads(float[] x, float[] w, float[] b, float[] y) {
    }

    Grads run(boolean checkpoint, List<Storage> intermediates, List<Storage> aliveAfterForward) {
        Random rng = new Random(4);
        try (Scope s = Scope.open("run")) {
            Tensor x = Tensor.of(random(rng, 60), 5, 12).requiresGrad(true);
            Tensor w = Tensor.of(random(rng, 12), 12).requiresGrad(true);
            Tensor b = Tensor.of(random(rng, 12), 12).requiresGrad(true);
            Tensor h = Tensor.of(random(rng, 60), 5, 12);
            float[] seed = random(rng, 60);
            Tensor y;
            try (Scope fwd = Scope.open("forward")) {
                // Two chained blocks; the second gets the first's output.
                Function<Tensor[], Tensor> f = block(w, b, intermediates);
                Tensor x1 = Arith.mulScalar(x, 1.5);
                Tensor y1 = checkpoint ? Checkpoint.run(f, x1, h) : f.apply(new Tensor[] {x1, h});
                Tensor y2 = checkpoint ? Checkpoint.run(f, y1, b)
                        : f.apply(new Tensor[] {y1, b});
                y = fwd.keep(y2);
            }
            for (Storage st : intermediates) {
                if (!st.isFreed()) {
                    aliveAfterForward.add(st);
                }
            }
            float[] yv = y.toFloatArray();
            y.backward(Tensor.of(seed, 5, 12));
            assertNull(h.grad());
            return new Grads(x.grad().toFloatArray(), w.grad().toFloatArray(), b.grad().toFloatArray(), yv);
        }
    }

    @Test
    void gradientsMatchTheUncheckpointedRunExactly() {
        Grads plain = run(false, new ArrayList<>(), new ArrayList<>());
        Grads ckpt = run(true, new ArrayList<>(), new ArrayList<>());
        assertArrayEquals(plain.y(), ckpt.y());
        assertArrayEquals(plain.x(), ckpt.x());
        assertArrayEquals(plain.w(), ckpt.w());
        assertArrayEquals(plain.b(), ckpt.b());
    }

    @Test
    void checkpointedForwardKeepsNoActivations() {
        List<Storage> plainInner = new ArrayList<>();
        List<Storage> plainAlive = new ArrayList<>();
        run(false, plainInner, plainAlive);
        assertEquals(4, plainInner.size());
        assertFalse(plainAlive.isEmpty(), "without checkpointing, backward keeps intermediates alive");

        List<Storage> ckptInner = new ArrayList<>();
        List<Storage> ckptAlive = new ArrayList<>();
        run(true, ckptInner, ckptAlive);
        // 4 from the forward plus 4 from the recomputation in backward.
        assertEquals(8, ckptInner.size());
        assertTrue(ckptAlive.isEmpty(), "checkpointed blocks free their intermediates when the forward scope closes");
        for (Storage st : ckptInner) {
            assertTrue(st.isFreed(), "recomputed activations are freed after backward");
        }
    }

    @Test
    void identityBlockLeavesItsInputUntouched() {
        try (Scope s = Scope.open("t")) {
            Tensor x = Tensor.ones(3).requiresGrad(true);
            Tensor y = Checkpoint.run(in -> in[0], x);
            assertTrue(x.isLeaf());
            y.backward(Tensor.of(new float[] {1, 2, 3}, 3));
            assertArrayEquals(new float[] {1, 2, 3}, x.grad().toFloatArray());
        }
    }

    @Test
    void withGradDisabledItIsAPlainCall() {
        try (Scope s = Scope.open("t")) {
            Tensor x = Tensor.ones(3).requiresGrad(true);
            Tensor y = GradMode.noGrad(() -> Checkpoint.run(in -> Arith.mulScalar(in[0], 2), x));
            assertFalse(y.requiresGrad());
            assertArrayEquals(new float[] {2, 2, 2}, y.toFloatArray());
        }
    }
}
