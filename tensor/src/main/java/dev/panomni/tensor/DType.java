package dev.panomni.tensor;

/**
 * Element types a {@link Tensor} can hold. Floating types are computed in at least fp32 precision
 * by every backend; BF16 and F16 are storage formats whose conversions round to nearest even
 * ({@link BFloat16}, {@link Float16}).
 */
public enum DType {
    F32(4, true, "F32"),
    F16(2, true, "F16"),
    BF16(2, true, "BF16"),
    I32(4, false, "I32"),
    I64(8, false, "I64"),
    U8(1, false, "U8"),
    BOOL(1, false, "BOOL");

    private final int byteSize;
    private final boolean floating;
    private final String safetensorsName;

    DType(int byteSize, boolean floating, String safetensorsName) {
        this.byteSize = byteSize;
        this.floating = floating;
        this.safetensorsName = safetensorsName;
    }

    /** Bytes one element occupies. */
    public int byteSize() {
        return byteSize;
    }

    /** True for F32, F16 and BF16. */
    public boolean isFloating() {
        return floating;
    }

    /** True for I32, I64 and U8 (BOOL is neither floating nor integral). */
    public boolean isIntegral() {
        return this == I32 || this == I64 || this == U8;
    }

    /** The dtype's name in the safetensors header ("F32", "BF16", ...). */
    public String safetensorsName() {
        return safetensorsName;
    }
}
