package dev.panomni.tools.bindgen.clang;

import java.lang.foreign.MemorySegment;

/** A {@code CXCursor} copied into its translation unit's arena (valid until the unit is closed). */
public record Cursor(MemorySegment segment) {
    /** The {@code CXCursorKind}, see {@link CursorKind}. */
    public int kind() {
        return segment.get(java.lang.foreign.ValueLayout.JAVA_INT, 0);
    }
}
