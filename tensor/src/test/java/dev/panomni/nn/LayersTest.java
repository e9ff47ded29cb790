package dev.panomni.nn;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Embeddings;
import dev.panomni.tensor.ops.Norms;
import dev.panomni.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parameter layout, initialization and wiring of the layer modules (the ops have their own tests). */
class LayersTest {
    static double mean(float[] v) {
        double s = 0;
        for (float x : v) {
            s += x;
        }
        return s / v.length;
    }

    static double std(float[] v) {
        double m = mean(v);
        double s = 0;
        for (float x : v) {
            s += (x - m) * (x - m);
        }
        return Math.sqrt(s / v.length);
    }

    @Test
    void embeddingLooksUpRowsAndInitializesNormal() {
        try (Embedding e = new Embedding(50, 16, new Generator(1), 0.02); Scope s = Scope.open("t")) {
            assertEquals(List.of("weight"), List.copyOf(e.namedParameters().keySet()));
            assertArrayEquals(new long[] {50, 16}, e.weight().shape());
            float[] w = e.weight().toFloatArray();
            assertEquals(0.0, mean(w), 0.003);
            assertEquals(0.02, std(w), 0.002);
            Tensor ids = Tensor.ofLongs(new long[] {3, 0, 49}, 3);
            Tensor y = e.forward(ids);
            assertArrayEquals(new long[] {3, 16}, y.shape());
            float[] yv = y.toFloatArray();
            for (int k = 0; k < 16; k++) {
                assertEquals(w[3 * 16 + k], yv[k]);
                assertEquals(w[49 * 16 + k], yv[32 + k]);
            }
            y.backward(Tensor.ones(3, 16));
            assertNotNull(e.weight().grad());
            assertArrayEquals(Embeddings.embedding(e.weight(), ids).toFloatArray(), yv);
        }
    }

    @Test
    void normsInitializeToIdentityScale() {
        try (RMSNorm rms = new RMSNorm(8, 1e-6); LayerNorm ln = new LayerNorm(8, 1e-5);
             LayerNorm noBias = new LayerNorm(8, 1e-5, false); Scope s = Scope.open("t")) {
            assertArrayEquals(Tensor.ones(8).toFloatArray(), rms.namedParameters().get("weight").toFloatArray());
            assertEquals(List.of("weight", "bias"), List.copyOf(ln.namedParameters().keySet()));
            assertArrayEquals(new float[8], ln.namedParameters().get("bias").toFloatArray());
            assertEquals(List.of("weight"), List.copyOf(noBias.namedParameters().keySet()));
            Tensor x = new Generator(2).normal(new long[] {3, 8}, 1.0, 2.0);
            float[] y = rms.forward(x).toFloatArray();
            float[] xv = x.toFloatArray();
            for (int r = 0; r < 3; r++) {
                double ms = 0;
                for (int k = 0; k < 8; k++) {
                    ms += xv[r * 8 + k] * xv[r * 8 + k];
                }
                double inv = 1 / Math.sqrt(ms / 8 + 1e-6);
                for (int k = 0; k < 8; k++) {
                    assertEquals(xv[r * 8 + k] * inv, y[r * 8 + k], 1e-5);
                }
            }
            float[] l = ln.forward(x).toFloatArray();
            assertEquals(0.0, mean(java.util.Arrays.copyOfRange(l, 0, 8)), 1e-5);
            assertArrayEquals(Norms.layerNorm(x, ln.namedParameters().get("weight"), null, 1e-5).toFloatArray(),
                    noBias.forward(x).toFloatArray());
            rms.to(DType.BF16);
            assertEquals(DType.BF16, rms.forward(x.to(DType.BF16)).dtype());
            assertTrue(rms.namedParameters().get("weight").requiresGrad());
        }
    }
}
