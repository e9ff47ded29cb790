package dev.panomni.tensor;

/**
 * bfloat16 (1 sign, 8 exponent, 7 mantissa bits) conversions. The format is the upper half of an
 * IEEE-754 binary32, so widening is a shift; narrowing rounds to nearest, ties to even, and keeps
 * NaNs quiet (a NaN whose payload sits only in the dropped bits would otherwise become infinity).
 */
public final class BFloat16 {
    private BFloat16() {
    }

    /** The float a bf16 bit pattern (low 16 bits of {@code bits}) denotes; exact. */
    public static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** The nearest bf16 to {@code value}, ties to even; NaN stays NaN, overflow becomes infinity. */
    public static short fromFloat(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) {
            // NaN: keep sign and the top payload bits, force the quiet bit so it cannot turn into inf.
            return (short) ((bits >>> 16) | 0x0040);
        }
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }
}
