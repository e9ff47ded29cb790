package dev.panomni.tensor;

/**
 * IEEE-754 binary16 conversions. The JDK's {@link Float#floatToFloat16} rounds to nearest even and
 * handles subnormals, infinities and NaN, so this class only names the operation for symmetry with
 * {@link BFloat16}.
 */
public final class Float16 {
    private Float16() {
    }

    /** The float a binary16 bit pattern denotes; exact. */
    public static float toFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** The nearest binary16 to {@code value}, ties to even. */
    public static short fromFloat(float value) {
        return Float.floatToFloat16(value);
    }
}
