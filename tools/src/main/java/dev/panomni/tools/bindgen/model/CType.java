package dev.panomni.tools.bindgen.model;

import java.util.List;

/**
 * A C type as the generator sees it: typedef names are kept (they name Java layouts and document signatures), records
 * and enums are referenced by name (their bodies are separate declarations), qualifiers are dropped.
 */
public sealed interface CType {
    /** A built-in arithmetic type or {@code void}; sizes are those of Linux x86-64 and aarch64 (LP64). */
    record Primitive(Kind kind) implements CType {}

    /** The built-in types the generator maps. */
    enum Kind {
        VOID(0), BOOL(1), CHAR(1), SCHAR(1), UCHAR(1), SHORT(2), USHORT(2), INT(4), UINT(4), LONG(8), ULONG(8),
        LONGLONG(8), ULONGLONG(8), FLOAT(4), DOUBLE(8);

        private final int size;

        Kind(int size) {
            this.size = size;
        }

        public int size() {
            return size;
        }

        public boolean isFloating() {
            return this == FLOAT || this == DOUBLE;
        }
    }

    /** {@code T *}; the pointee matters only for documentation. */
    record Pointer(CType pointee) implements CType {}

    /** A use of a typedef name, with what it stands for. */
    record Typedef(String name, CType target) implements CType {}

    /** A use of an enum; {@code name} is its typedef or tag name, null when it has neither. */
    record EnumRef(String name) implements CType {}

    /** A use of a struct or union; {@code name} is its typedef or tag name, null when it has neither. */
    record RecordRef(String name, boolean union) implements CType {}

    /** {@code T[length]}; length -1 for {@code T[]}. */
    record Array(CType element, long length) implements CType {}

    /** A function type (only ever behind a pointer in what the generator accepts). */
    record Function(CType result, List<CType> params, boolean variadic) implements CType {}

    /** Something the generator cannot map (long double, vectors, 128-bit integers...), with clang's spelling. */
    record Unsupported(String spelling) implements CType {}

    /** Follows typedefs to the type they finally stand for. */
    static CType resolve(CType t) {
        while (t instanceof Typedef td) {
            t = td.target();
        }
        return t;
    }
}
