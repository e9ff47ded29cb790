package dev.panomni.tools.bindgen.clang;

import java.lang.foreign.MemorySegment;

/** A {@code CXType} copied into its translation unit's arena (valid until the unit is closed). */
public record ClangType(MemorySegment segment) {
    /** The {@code CXTypeKind}, see {@link TypeKind}. */
    public int kind() {
        return segment.get(java.lang.foreign.ValueLayout.JAVA_INT, 0);
    }
}
