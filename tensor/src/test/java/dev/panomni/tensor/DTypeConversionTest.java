package dev.panomni.tensor;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** bf16 and f16 conversions checked on every one of the 65,536 bit patterns. */
class DTypeConversionTest {
    /** Exact value of a bf16 bit pattern, from first principles (not via the code under test). */
    private static double bf16Exact(int bits) {
        int sign = (bits >>> 15) & 1;
        int exp = (bits >>> 7) & 0xFF;
        int man = bits & 0x7F;
        double v;
        if (exp == 0xFF) {
            return man == 0 ? (sign == 1 ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY) : Double.NaN;
        } else if (exp == 0) {
            v = man * Math.pow(2, -126 - 7);
        } else {
            v = (1 + man / 128.0) * Math.pow(2, exp - 127);
        }
        return sign == 1 ? -v : v;
    }

    private static double f16Exact(int bits) {
        int sign = (bits >>> 15) & 1;
        int exp = (bits >>> 10) & 0x1F;
        int man = bits & 0x3FF;
        double v;
        if (exp == 0x1F) {
            return man == 0 ? (sign == 1 ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY) : Double.NaN;
        } else if (exp == 0) {
            v = man * Math.pow(2, -14 - 10);
        } else {
            v = (1 + man / 1024.0) * Math.pow(2, exp - 15);
        }
        return sign == 1 ? -v : v;
    }

    @Test
    void bf16WideningIsExactAndNarrowingRoundTripsForAllPatterns() {
        for (int bits = 0; bits < 1 << 16; bits++) {
            float f = BFloat16.toFloat((short) bits);
            double exact = bf16Exact(bits);
            if (Double.isNaN(exact)) {
                assertTrue(Float.isNaN(f), "pattern " + Integer.toHexString(bits));
                assertTrue(Float.isNaN(BFloat16.toFloat(BFloat16.fromFloat(f))), "NaN must stay NaN");
                continue;
            }
            assertEquals(exact, f, 0.0, "pattern " + Integer.toHexString(bits));
            assertEquals(bits, BFloat16.fromFloat(f) & 0xFFFF, "round trip of " + Integer.toHexString(bits));
        }
    }

    @Test
    void f16WideningIsExactAndNarrowingRoundTripsForAllPatterns() {
        for (int bits = 0; bits < 1 << 16; bits++) {
            float f = Float16.toFloat((short) bits);
            double exact = f16Exact(bits);
            if (Double.isNaN(exact)) {
                assertTrue(Float.isNaN(f));
                continue;
            }
            assertEquals(exact, f, 0.0, "pattern " + Integer.toHexString(bits));
            assertEquals(bits, Float16.fromFloat(f) & 0xFFFF);
        }
    }

    /** Nearest-even rounding: midpoints between every pair of adjacent finite bf16 values. */
    @Test
    void bf16NarrowingRoundsToNearestEvenAtEveryMidpoint() {
        for (int bits = 0; bits < 0x7F7F; bits++) { // positive finite values below the largest
            float lo = BFloat16.toFloat((short) bits);
            float hi = BFloat16.toFloat((short) (bits + 1));
            BigDecimal mid = new BigDecimal(lo).add(new BigDecimal(hi)).divide(BigDecimal.valueOf(2));
            float midF = mid.floatValue();
            if (new BigDecimal(midF).compareTo(mid) != 0) {
                fail("midpoint not representable in float for " + bits);
            }
            int expected = (bits & 1) == 0 ? bits : bits + 1;
            assertEquals(expected, BFloat16.fromFloat(midF) & 0xFFFF, "midpoint above " + Integer.toHexString(bits));
            assertEquals(bits, BFloat16.fromFloat(Math.nextDown(midF)) & 0xFFFF);
            assertEquals(bits + 1, BFloat16.fromFloat(Math.nextUp(midF)) & 0xFFFF);
            // Negative side mirrors.
            assertEquals(expected | 0x8000, BFloat16.fromFloat(-midF) & 0xFFFF);
        }
    }

    @Test
    void specialValuesConvert() {
        assertEquals(0x7F80, BFloat16.fromFloat(Float.POSITIVE_INFINITY) & 0xFFFF);
        assertEquals(0xFF80, BFloat16.fromFloat(Float.NEGATIVE_INFINITY) & 0xFFFF);
        assertEquals(0x7F80, BFloat16.fromFloat(Float.MAX_VALUE) & 0xFFFF, "overflow rounds to infinity");
        assertEquals(0x8000, BFloat16.fromFloat(-0.0f) & 0xFFFF);
        // A NaN whose payload lives only in the dropped low bits must not become infinity.
        float lowPayloadNaN = Float.intBitsToFloat(0x7F800001);
        assertTrue(Float.isNaN(BFloat16.toFloat(BFloat16.fromFloat(lowPayloadNaN))));
        // The smallest float subnormals round to zero or the smallest bf16 subnormal.
        assertEquals(0, BFloat16.fromFloat(Float.MIN_VALUE) & 0xFFFF);
        assertEquals(0x7C00, Float16.fromFloat(65520f) & 0xFFFF, "f16 overflow rounds to infinity");
        assertEquals(0x0001, Float16.fromFloat(5.96e-8f) & 0xFFFF, "smallest f16 subnormal");
    }

    @Test
    void tensorCastsUseTheseConversions() {
        try (Scope s = Scope.open()) {
            float[] v = {1.0f, 1.00390625f, 1.01171875f, -3.5f, 65504f, 1e-8f};
            Tensor t = Tensor.of(v, 6);
            float[] bf = t.to(DType.BF16).toFloatArray();
            float[] hf = t.to(DType.F16).toFloatArray();
            for (int i = 0; i < v.length; i++) {
                assertEquals(BFloat16.toFloat(BFloat16.fromFloat(v[i])), bf[i]);
                assertEquals(Float16.toFloat(Float16.fromFloat(v[i])), hf[i]);
            }
        }
    }
}
