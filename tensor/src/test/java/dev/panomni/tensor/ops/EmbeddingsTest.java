package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EmbeddingsTest {
    static double[] gatherRef(double[] w, long[] ids, int d) {
        double[] o = new double[ids.length * d];
        for (int t = 0; t < ids.length; t++) {
            System.arraycopy(w, (int) ids[t] * d, o, t * d, d);
        }
        return o;
    }

    @Test
    void lookupAndRepeatedIdGradientsMatchReference() {
        int v = 11;
        for (int d : new int[] {5, 37}) {
            // ids [2, 7] with repeats (3 appears four times, 0 and 10 at the edges)
            long[] ids = {3, 0, 3, 10, 7, 3, 1, 2, 3, 10, 5, 6, 4, 0};
            GradCheck.check("embedding d=" + d, t -> {
                Tensor idT = Tensor.ofLongs(ids, 2, 7);
                return Embeddings.embedding(t[0], idT);
            }, in -> gatherRef(in[0], ids, d), new long[][] {{v, d}}, d);
            GradCheck.check("embedding I32 d=" + d, t -> {
                int[] i32 = new int[ids.length];
                for (int i = 0; i < ids.length; i++) {
                    i32[i] = (int) ids[i];
                }
                return Embeddings.embedding(t[0], Tensor.ofInts(i32, 14));
            }, in -> gatherRef(in[0], ids, d), new long[][] {{v, d}}, d + 1);
        }
    }

    @Test
    void outputShapeAppendsDAndBf16RowsAreCopiedExactly() {
        try (Scope s = Scope.open()) {
            Random rng = new Random(2);
            Tensor w = Tensor.of(GradCheck.random(rng, 6 * 3), 6, 3).to(DType.BF16).requiresGrad(true);
            Tensor ids = Tensor.ofLongs(new long[] {5, 1, 5}, 3, 1);
            Tensor out = Embeddings.embedding(w, ids);
            assertArrayEquals(new long[] {3, 1, 3}, out.shape());
            assertEquals(DType.BF16, out.dtype());
            float[] wf = w.toFloatArray();
            float[] of = out.toFloatArray();
            for (int c = 0; c < 3; c++) {
                assertEquals(wf[15 + c], of[c]);
                assertEquals(wf[3 + c], of[3 + c]);
                assertEquals(wf[15 + c], of[6 + c]);
            }
            out.backward(Tensor.ones(3, 1, 3).to(DType.BF16));
            float[] g = w.grad().toFloatArray();
            assertEquals(DType.BF16, w.grad().dtype());
            float[] expected = new float[18];
            for (int c = 0; c < 3; c++) {
                expected[15 + c] = 2;
                expected[3 + c] = 1;
            }
            assertArrayEquals(expected, g);
        }
    }

    @Test
    void largeBackwardIsDeterministicAndExact() {
        try (Scope s = Scope.open()) {
            int v = 50;
            int d = 200;
            int n = 3000;
            Random rng = new Random(3);
            long[] ids = new long[n];
            for (int i = 0; i < n; i++) {
                ids[i] = rng.nextInt(v);
            }
            float[] gv = GradCheck.random(rng, (long) n * d);
            Tensor w = Tensor.zeros(v, d).requiresGrad(true);
            Tensor out = Embeddings.embedding(w, Tensor.ofLongs(ids, n));
            out.backward(Tensor.of(gv, n, d));
            float[] got = w.grad().toFloatArray();
            // Sequential float sums in token order: the exact result a deterministic kernel gives.
            float[] ref = new float[v * d];
            for (int t = 0; t < n; t++) {
                for (int c = 0; c < d; c++) {
                    ref[(int) ids[t] * d + c] += gv[t * d + c];
                }
            }
            assertArrayEquals(ref, got);
        }
    }

    @Test
    void outOfRangeIdsNameTheIdAndV() {
        try (Scope s = Scope.open()) {
            Tensor w = Tensor.zeros(7, 4);
            TensorOpException e = assertThrows(TensorOpException.class,
                    () -> Embeddings.embedding(w, Tensor.ofLongs(new long[] {1, 7, 2}, 3)));
            assertTrue(e.getMessage().startsWith("embedding") && e.getMessage().contains("id 7")
                    && e.getMessage().contains("V=7"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Embeddings.embedding(w, Tensor.ofInts(new int[] {-1}, 1)));
            assertTrue(e.getMessage().contains("id -1") && e.getMessage().contains("V=7"), e.getMessage());
            // Enough ids for the lookup to run on several threads: the error still surfaces as such.
            long[] many = new long[20000];
            many[15000] = 9;
            e = assertThrows(TensorOpException.class, () -> Embeddings.embedding(w, Tensor.ofLongs(many, many.length)));
            assertTrue(e.getMessage().contains("id 9 at position 15000") && e.getMessage().contains("V=7"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Embeddings.embedding(w, Tensor.zeros(3)));
            assertTrue(e.getMessage().startsWith("embedding") && e.getMessage().contains("I64 or I32"), e.getMessage());
            e = assertThrows(TensorOpException.class,
                    () -> Embeddings.embedding(Tensor.zeros(7), Tensor.ofLongs(new long[] {1}, 1)));
            assertTrue(e.getMessage().startsWith("embedding") && e.getMessage().contains("[7]"), e.getMessage());
        }
    }
}
