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

class RotaryTest {
    /** Naive rotate-half over x [N, H, D] with per-token positions pos[N], in float64. */
    static double[] ropeRef(double[] x, long[] pos, int h, int d, float[] freq) {
        double[] o = new double[x.length];
        int half = d / 2;
        for (int n = 0; n < pos.length; n++) {
            for (int k = 0; k < h; k++) {
                int base = (n * h + k) * d;
                for (int i = 0; i < half; i++) {
                    double a = (float) pos[n] * freq[i];
                    double c = Math.cos(a);
                    double s = Math.sin(a);
                    double x1 = x[base + i];
                    double x2 = x[base + i + half];
                    o[base + i] = x1 * c - x2 * s;
                    o[base + i + half] = x2 * c + x1 * s;
                }
            }
        }
        return o;
    }

    @Test
    void defaultFrequenciesFollowHuggingFace() {
        float[] f = Rotary.invFreq(8, 10000);
        assertEquals(4, f.length);
        assertEquals(1.0f, f[0]);
        assertEquals(0.1f, f[1], 1e-8f);
        assertEquals(0.01f, f[2], 1e-9f);
        assertEquals(0.001f, f[3], 1e-10f);
    }

    @Test
    void packedSequenceWithRestartingPositions() {
        // Two documents packed: positions 0..2 then 0..3, x [7, 3, 40] (half dim 20: vector body and tail).
        long[] pos = {0, 1, 2, 0, 1, 2, 3};
        int h = 3;
        int d = 40;
        float[] freq = Rotary.invFreq(d, 10000);
        GradCheck.check("rope packed", t -> Rotary.rope(t[0], Tensor.ofLongs(pos, 7), 10000),
                in -> ropeRef(in[0], pos, h, d, freq), new long[][] {{7, h, d}}, 1);
    }

    @Test
    void batchedWithPerBatchAndSharedPositions() {
        int b = 2;
        int t = 3;
        int h = 2;
        int d = 6;
        int[] pos = {5, 9, 13, 0, 1, 2};
        long[] flat = {5, 9, 13, 0, 1, 2};
        float[] freq = Rotary.invFreq(d, 1e6);
        GradCheck.check("rope [B, T] I32", x -> Rotary.rope(x[0], Tensor.ofInts(pos, b, t), 1e6),
                in -> ropeRef(in[0], flat, h, d, freq), new long[][] {{b, t, h, d}}, 2);
        long[] shared = {3, 4, 5};
        long[] sharedFlat = {3, 4, 5, 3, 4, 5};
        GradCheck.check("rope [T] shared by the batch", x -> Rotary.rope(x[0], Tensor.ofLongs(shared, t), 1e6),
                in -> ropeRef(in[0], sharedFlat, h, d, freq), new long[][] {{b, t, h, d}}, 3);
    }

    @Test
    void customFrequenciesAsArrayAndTensor() {
        float[] freq = {0.7f, 0.05f, 1.3f, 0.002f, 0.4f};
        long[] pos = {11, 2, 7};
        GradCheck.check("rope float[]", x -> Rotary.rope(x[0], Tensor.ofLongs(pos, 3), freq),
                in -> ropeRef(in[0], pos, 4, 10, freq), new long[][] {{3, 4, 10}}, 4);
        GradCheck.check("rope tensor", x -> Rotary.rope(x[0], Tensor.ofLongs(pos, 3), Tensor.of(freq, 5)),
                in -> ropeRef(in[0], pos, 4, 10, freq), new long[][] {{3, 4, 10}}, 5);
    }

    @Test
    void stridedInputAndBf16() {
        try (Scope s = Scope.open()) {
            Random rng = new Random(6);
            int d = 34;
            long[] pos = {4, 0, 7, 1};
            // [H, T, D] transposed to [T, H, D]: a non-contiguous view.
            Tensor raw = Tensor.of(GradCheck.random(rng, 2 * 4 * d), 2, 4, d);
            Tensor x = raw.transpose(0, 1);
            Tensor out = Rotary.rope(x, Tensor.ofLongs(pos, 4), 10000);
            double[] xd = NormsTest.toDouble(x.contiguous().toFloatArray());
            double[] ref = ropeRef(xd, pos, 2, d, Rotary.invFreq(d, 10000));
            assertTrue(GradCheck.relError(out.toFloatArray(), ref) < 1e-6);
            Tensor xb = x.to(DType.BF16).requiresGrad(true);
            Tensor ob = Rotary.rope(xb, Tensor.ofLongs(pos, 4), 10000);
            assertEquals(DType.BF16, ob.dtype());
            assertTrue(GradCheck.relError(ob.toFloatArray(), ropeRef(NormsTest.toDouble(xb.toFloatArray()), pos, 2, d,
                    Rotary.invFreq(d, 10000))) < 4e-3);
            ob.backward(ob.detach());
            // The backward is the inverse rotation: applied to the output it gives back the input.
            assertTrue(GradCheck.relError(xb.grad().toFloatArray(), NormsTest.toDouble(xb.toFloatArray())) < 8e-3);
        }
    }

    @Test
    void largePositionsRotateByTheF32Angle() {
        try (Scope s = Scope.open()) {
            long[] pos = {131071, 100000};
            Tensor x = Tensor.of(new float[] {1, 0, 0, 0, 0, 1, 0, 0}, 2, 1, 4);
            float[] got = Rotary.rope(x, Tensor.ofLongs(pos, 2), 10000).toFloatArray();
            float[] f = Rotary.invFreq(4, 10000);
            float a0 = 131071f * f[0];
            float a1 = 100000f * f[1];
            assertArrayEquals(new float[] {(float) Math.cos(a0), 0, (float) Math.sin(a0), 0,
                0, (float) Math.cos(a1), 0, (float) Math.sin(a1)}, got, 1e-6f);
        }
    }

    @Test
    void badInputsNameTheOpAndShapes() {
        try (Scope s = Scope.open()) {
            Tensor pos = Tensor.ofLongs(new long[] {0, 1, 2}, 3);
            TensorOpException e = assertThrows(TensorOpException.class, () -> Rotary.rope(Tensor.zeros(3, 2, 5), pos, 1e4));
            assertTrue(e.getMessage().startsWith("rope") && e.getMessage().contains("5"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Rotary.rope(Tensor.zeros(4, 2, 6), pos, 1e4));
            assertTrue(e.getMessage().startsWith("rope") && e.getMessage().contains("[4]")
                    && e.getMessage().contains("[4, 2, 6]") && e.getMessage().contains("[3]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Rotary.rope(Tensor.zeros(3, 2, 6), pos, new float[] {1, 2}));
            assertTrue(e.getMessage().contains("invFreq") && e.getMessage().contains("[3]")
                    && e.getMessage().contains("[2]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Rotary.rope(Tensor.zeros(3, 2, 6), Tensor.zeros(3), 1e4));
            assertTrue(e.getMessage().contains("I64 or I32"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Rotary.rope(Tensor.zeros(3, 6), pos, 1e4));
            assertTrue(e.getMessage().contains("[T, H, D]") && e.getMessage().contains("[3, 6]"), e.getMessage());
        }
    }
}
