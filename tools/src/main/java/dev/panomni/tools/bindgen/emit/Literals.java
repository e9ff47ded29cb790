package dev.panomni.tools.bindgen.emit;

import dev.panomni.tools.bindgen.model.CType;

/** Java literals for C constant values, exact to the bit. */
final class Literals {
    private Literals() {}

    /** An integer constant of C kind {@code kind} as a literal of its Java carrier type ({@code int} or {@code long}). */
    static String integer(long value, CType.Kind kind) {
        if (kind.size() == 8) {
            return value + "L";
        }
        int v = (int) value;
        // Unsigned values past Integer.MAX_VALUE keep their bits: 0xffffffff is -1 as a Java int.
        return kind.size() == 4 && value > Integer.MAX_VALUE ? "0x" + Integer.toHexString(v) : Integer.toString(v);
    }

    /** The Java type an integer constant of C kind {@code kind} is declared as. */
    static String integerType(CType.Kind kind) {
        return kind.size() == 8 ? "long" : "int";
    }

    static String string(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '\r' -> sb.append("\\r");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    static String floating(double v, CType.Kind kind) {
        if (Double.isNaN(v)) {
            return kind == CType.Kind.FLOAT ? "Float.NaN" : "Double.NaN";
        }
        if (Double.isInfinite(v)) {
            String cls = kind == CType.Kind.FLOAT ? "Float" : "Double";
            return v > 0 ? cls + ".POSITIVE_INFINITY" : cls + ".NEGATIVE_INFINITY";
        }
        return kind == CType.Kind.FLOAT ? Float.toString((float) v) + "f" : Double.toString(v);
    }
}
