package dev.panomni.bindings;

import java.lang.foreign.MemorySegment;

/** Reading the NUL-terminated strings C libraries return ({@code const char *}). */
public final class CStrings {
    private CStrings() {}

    /** The UTF-8 string at {@code pointer}, or null for a NULL pointer. */
    public static String read(MemorySegment pointer) {
        if (pointer == null || pointer.equals(MemorySegment.NULL)) {
            return null;
        }
        return pointer.reinterpret(Long.MAX_VALUE).getString(0);
    }
}
