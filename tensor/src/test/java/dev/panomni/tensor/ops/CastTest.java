package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CastTest {
    private static final float ULP8 = 0x1p-8f;
    private static final float ULP11 = 0x1p-11f;

    @Test
    void floatsNarrowToBf16AndF16RoundingToNearestEven() {
        try (Scope s = Scope.open()) {
            // BF16 keeps 7 mantissa bits: 1 + 2^-8 is a tie that goes down to 1, 1 + 3 * 2^-8 goes up;
            // 3e38 = 1.7632 * 2^127 rounds to 1.765625 * 2^127.
            Tensor x = Tensor.of(new float[] {1f + ULP8, 1f + 3 * ULP8, 1f + 1.5f * ULP8, -2.5f, 3e38f}, 5);
            Tensor b = Layout.cast(x, DType.BF16);
            assertEquals(DType.BF16, b.dtype());
            assertArrayEquals(new float[] {1f, 1f + 4 * ULP8, 1f + 2 * ULP8, -2.5f, 0x1.c4p127f}, b.toFloatArray());

            // F16 keeps 10 mantissa bits, tops out at 65504, and has subnormals down to 2^-24.
            Tensor y = Tensor.of(new float[] {1f + ULP11, 1f + 3 * ULP11, 65504f, 70000f, 0x1p-24f, 0x1p-26f, -0f}, 7);
            float[] h = y.to(DType.F16).toFloatArray();
            assertArrayEquals(new float[] {1f, 1f + 4 * ULP11, 65504f, Float.POSITIVE_INFINITY, 0x1p-24f, 0f, -0f}, h);
            assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(h[6]), "the sign of zero survives");

            Tensor nan = Tensor.of(new float[] {Float.NaN, Float.NEGATIVE_INFINITY}, 2);
            float[] bn = nan.to(DType.BF16).toFloatArray();
            assertTrue(Float.isNaN(bn[0]));
            assertEquals(Float.NEGATIVE_INFINITY, bn[1]);
            assertTrue(Float.isNaN(nan.to(DType.F16).toFloatArray()[0]));
        }
    }

    @Test
    void bf16AndF16ConvertIntoEachOtherThroughF32() {
        try (Scope s = Scope.open()) {
            // 1 + 2^-7 is exact in both; 1 + 2^-10 is exact in F16 only and rounds to 1 in BF16;
            // 2^20 is exact in BF16 only and overflows F16.
            Tensor f = Tensor.of(new float[] {1f + 2 * ULP8, 1f + 2 * ULP11, 0x1p20f, -3.25f}, 4);
            Tensor half = f.to(DType.F16);
            Tensor viaBf16 = half.to(DType.BF16);
            assertEquals(DType.BF16, viaBf16.dtype());
            assertArrayEquals(new float[] {1f + 2 * ULP8, 1f, Float.POSITIVE_INFINITY, -3.25f}, viaBf16.toFloatArray());
            Tensor back = f.to(DType.BF16).to(DType.F16);
            assertEquals(DType.F16, back.dtype());
            assertArrayEquals(new float[] {1f + 2 * ULP8, 1f, Float.POSITIVE_INFINITY, -3.25f}, back.toFloatArray());
            // Widening is exact: BF16 -> F32 -> BF16 gives the same bits.
            Tensor b = f.to(DType.BF16);
            assertArrayEquals(b.toFloatArray(), b.to(DType.F32).to(DType.BF16).toFloatArray(), 0f);
        }
    }

    @Test
    void floatsToIntegersTruncateTowardZero() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {2.9f, -2.9f, 0.5f, -0.5f, 1e10f, -7f}, 6);
            Tensor l = x.to(DType.I64);
            assertEquals(DType.I64, l.dtype());
            assertArrayEquals(new long[] {2, -2, 0, 0, 10_000_000_000L, -7}, l.toLongArray());
            // Through BF16 first: 2.9 becomes 2.90625 and 1e10 becomes 1.1640625 * 2^33 = 9999220736.
            assertArrayEquals(new long[] {2, -2, 0, 0, 9_999_220_736L, -7}, x.to(DType.BF16).to(DType.I64).toLongArray());
            Tensor i = Tensor.of(new float[] {3.99f, -3.99f}, 2).to(DType.I32);
            assertEquals(DType.I32, i.dtype());
            assertArrayEquals(new long[] {3, -3}, i.toLongArray());
        }
    }

    @Test
    void integersWidenToFloatsRoundingToNearest() {
        try (Scope s = Scope.open()) {
            long big = (1L << 24) + 1;
            Tensor l = Tensor.ofLongs(new long[] {-7, 0, big, 1L << 40}, 4);
            Tensor f = l.to(DType.F32);
            assertEquals(DType.F32, f.dtype());
            assertArrayEquals(new float[] {-7f, 0f, 16777216f, 0x1p40f}, f.toFloatArray(), 0f);
            assertArrayEquals(new float[] {-7f, 0f, 16777216f, 0x1p40f}, l.to(DType.BF16).toFloatArray(), 0f);
            assertArrayEquals(new long[] {-7, 0, big}, Tensor.ofInts(new int[] {-7, 0, (int) big}, 3).to(DType.I64)
                    .toLongArray());
        }
    }

    @Test
    void boolCastsAreZeroVersusNonzero() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {0f, -0f, 2.5f, -1e-30f, Float.NaN}, 5);
            Tensor b = x.to(DType.BOOL);
            assertEquals(DType.BOOL, b.dtype());
            assertArrayEquals(new long[] {0, 0, 1, 1, 1}, b.toLongArray());
            assertArrayEquals(new float[] {0, 0, 1, 1, 1}, b.to(DType.F32).toFloatArray());
            assertArrayEquals(new long[] {0, 0, 1, 1, 1}, b.to(DType.I64).toLongArray());
            assertArrayEquals(new long[] {1, 0, 1}, Tensor.ofLongs(new long[] {-5, 0, 1L << 40}, 3).to(DType.BOOL)
                    .toLongArray());
            assertArrayEquals(new float[] {1, 0}, Tensor.ofBooleans(new boolean[] {true, false}, 2).to(DType.BF16)
                    .toFloatArray());
        }
    }

    @Test
    void castReadsStridedSourcesAndSameDtypeSharesStorage() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).transpose(0, 1);
            Tensor b = x.to(DType.BF16);
            assertTrue(b.isContiguous());
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, b.toFloatArray());
            Tensor same = x.to(DType.F32);
            assertSame(x.storage(), same.storage());
        }
    }

    @Test
    void backwardCastsTheGradientBackToTheSourceDtype() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1f, 2f, 3f}, 3).requiresGrad(true);
            Tensor y = x.to(DType.BF16);
            assertTrue(y.requiresGrad());
            y.backward(Tensor.of(new float[] {0.5f, -1f, 1f + ULP8}, 3).to(DType.BF16));
            assertEquals(DType.F32, x.grad().dtype());
            assertArrayEquals(new float[] {0.5f, -1f, 1f}, x.grad().toFloatArray(), 0f);

            Tensor h = Tensor.of(new float[] {1f, 2f}, 2).to(DType.BF16).requiresGrad(true);
            Tensor w = Arith.mulScalar(h.to(DType.F32), 2.0);
            w.backward(Tensor.of(new float[] {1f + ULP8, 2f}, 2));
            assertEquals(DType.BF16, h.grad().dtype());
            // 2 * (1 + 2^-8) = 2 + 2^-7 is half a BF16 ulp above 2: the tie rounds to even, 2.0.
            assertArrayEquals(new float[] {2f, 4f}, h.grad().toFloatArray(), 0f);
        }
        // Through F16 and back: the forward rounds to F16, the gradient is the seed rounded to F16.
        GradCheck.check("cast F32 -> F16 -> F32", t -> Arith.mulScalar(t[0].to(DType.F16), 2.0).to(DType.F32), in -> {
            double[] o = new double[in[0].length];
            for (int i = 0; i < o.length; i++) {
                o[i] = 2.0 * in[0][i];
            }
            return o;
        }, new long[][] {{3, 7}}, new float[][] {GradCheck.random(new java.util.Random(5), 21)}, new boolean[] {true},
                1e-3, 1e-3, 6);
    }

    @Test
    void castingAGradientTensorToAnIntegerTypeIsAnError() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1.5f, 2.5f}, 2).requiresGrad(true);
            TensorOpException e = assertThrows(TensorOpException.class, () -> x.to(DType.I64));
            assertTrue(e.getMessage().startsWith("cast") && e.getMessage().contains("I64")
                    && e.getMessage().contains("[2]") && e.getMessage().contains("detach"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Layout.cast(Arith.mulScalar(x, 2.0), DType.BOOL));
            assertTrue(e.getMessage().startsWith("cast") && e.getMessage().contains("BOOL"), e.getMessage());
            // Allowed without recording, or on a detached handle; the result never requires grad.
            Tensor quiet = GradMode.noGrad(() -> x.to(DType.I32));
            assertArrayEquals(new long[] {1, 2}, quiet.toLongArray());
            assertFalse(quiet.requiresGrad());
            Tensor detached = x.detach().to(DType.I64);
            assertFalse(detached.requiresGrad());
            assertArrayEquals(new long[] {1, 2}, detached.toLongArray());
            Tensor ints = Tensor.zeros(DType.I64, Device.CPU, 2);
            assertThrows(TensorOpException.class, () -> ints.requiresGrad(true));
        }
    }
}
