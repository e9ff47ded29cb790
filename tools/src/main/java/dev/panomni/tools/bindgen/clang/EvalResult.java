package dev.panomni.tools.bindgen.clang;

/**
 * The value clang computed for a constant expression: a {@link Long} (signed or unsigned bits), a {@link Double}, a
 * {@link String}, or empty when clang could not evaluate it.
 */
public record EvalResult(Object value, boolean unsigned) {
    public static final EvalResult NONE = new EvalResult(null, false);

    public boolean isPresent() {
        return value != null;
    }
}
