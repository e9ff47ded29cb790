package dev.panomni.tools.bindgen.emit;

import dev.panomni.tools.bindgen.BindgenException;
import dev.panomni.tools.bindgen.NameMangler;
import dev.panomni.tools.bindgen.model.Bindings;
import dev.panomni.tools.bindgen.model.CType;
import dev.panomni.tools.bindgen.model.EnumDecl;
import dev.panomni.tools.bindgen.model.StructDecl;

import java.util.HashMap;
import java.util.Map;

/**
 * How C types look in Java: the carrier type of a value ({@code int}, {@code MemorySegment}), its memory layout
 * expression ({@code JAVA_INT}, {@code ncclUniqueId.LAYOUT}) and its size. Sizes follow LP64 Linux.
 */
final class JavaTypes {
    private final String packageName;
    private final Map<String, EnumDecl> enums = new HashMap<>();
    private final Map<String, StructDecl> structs = new HashMap<>();

    JavaTypes(Bindings b, String packageName) {
        this.packageName = packageName;
        for (EnumDecl e : b.enums()) {
            enums.put(e.name(), e);
        }
        for (StructDecl s : b.structs()) {
            structs.put(s.name(), s);
        }
    }

    /** The Java type a value of {@code t} is passed as. */
    String carrier(CType t) {
        return switch (CType.resolve(t)) {
            case CType.Primitive p -> carrier(p.kind());
            case CType.EnumRef e -> carrier(enumKind(e));
            case CType.Pointer p -> "MemorySegment";
            case CType.Array a -> "MemorySegment";
            case CType.RecordRef r -> "MemorySegment";
            default -> throw new BindgenException("no Java carrier for " + t);
        };
    }

    static String carrier(CType.Kind k) {
        return switch (k) {
            case VOID -> "void";
            case BOOL -> "boolean";
            case CHAR, SCHAR, UCHAR -> "byte";
            case SHORT, USHORT -> "short";
            case INT, UINT -> "int";
            case LONG, ULONG, LONGLONG, ULONGLONG -> "long";
            case FLOAT -> "float";
            case DOUBLE -> "double";
        };
    }

    static String valueLayout(CType.Kind k) {
        return switch (k) {
            case VOID -> throw new BindgenException("void has no layout");
            case BOOL -> "JAVA_BOOLEAN";
            case CHAR, SCHAR, UCHAR -> "JAVA_BYTE";
            case SHORT, USHORT -> "JAVA_SHORT";
            case INT, UINT -> "JAVA_INT";
            case LONG, ULONG, LONGLONG, ULONGLONG -> "JAVA_LONG";
            case FLOAT -> "JAVA_FLOAT";
            case DOUBLE -> "JAVA_DOUBLE";
        };
    }

    /** The {@code ValueLayout} subtype of a scalar's layout ({@code ValueLayout.OfInt}, {@code AddressLayout}). */
    String layoutClass(CType t) {
        return switch (CType.resolve(t)) {
            case CType.Pointer p -> "AddressLayout";
            case CType.Primitive p -> "ValueLayout.Of" + capitalized(carrier(p.kind()));
            case CType.EnumRef e -> "ValueLayout.Of" + capitalized(carrier(enumKind(e)));
            case CType.Array a -> "SequenceLayout";
            case CType.RecordRef r -> "GroupLayout";
            default -> throw new BindgenException("no layout class for " + t);
        };
    }

    /** The layout expression of {@code t} where it appears by value (argument, result, member). */
    String layout(CType t) {
        return switch (CType.resolve(t)) {
            case CType.Primitive p -> valueLayout(p.kind());
            case CType.EnumRef e -> valueLayout(enumKind(e));
            case CType.Pointer p -> "ADDRESS";
            case CType.Array a -> a.length() < 0 ? "ADDRESS"
                    : "MemoryLayout.sequenceLayout(" + a.length() + ", " + layout(a.element()) + ")";
            case CType.RecordRef r -> structClass(r.name()) + ".LAYOUT";
            default -> throw new BindgenException("no layout for " + t);
        };
    }

    /** Layout expression for a parameter: arrays decay to pointers. */
    String parameterLayout(CType t) {
        return CType.resolve(t) instanceof CType.Array ? "ADDRESS" : layout(t);
    }

    String parameterCarrier(CType t) {
        return CType.resolve(t) instanceof CType.Array ? "MemorySegment" : carrier(t);
    }

    long size(CType t) {
        return switch (CType.resolve(t)) {
            case CType.Primitive p -> p.kind().size();
            case CType.EnumRef e -> enumKind(e).size();
            case CType.Pointer p -> 8;
            case CType.Array a -> Math.max(0, a.length()) * size(a.element());
            case CType.RecordRef r -> struct(r.name()).size();
            default -> throw new BindgenException("no size for " + t);
        };
    }

    long align(CType t) {
        return switch (CType.resolve(t)) {
            case CType.Array a -> align(a.element());
            case CType.RecordRef r -> struct(r.name()).align();
            default -> size(t);
        };
    }

    boolean isScalar(CType t) {
        CType r = CType.resolve(t);
        return r instanceof CType.Primitive || r instanceof CType.EnumRef || r instanceof CType.Pointer;
    }

    boolean isStruct(CType t) {
        return CType.resolve(t) instanceof CType.RecordRef;
    }

    /** The fully qualified class of a generated struct. */
    String structClass(String cName) {
        struct(cName);
        return packageName + "." + NameMangler.javaName(cName);
    }

    StructDecl struct(String name) {
        StructDecl s = name == null ? null : structs.get(name);
        if (s == null) {
            throw new BindgenException("struct " + name + " is not part of the generated bindings");
        }
        return s;
    }

    CType.Kind enumKind(CType.EnumRef e) {
        EnumDecl d = e.name() == null ? null : enums.get(e.name());
        return d == null ? CType.Kind.INT : d.integerType();
    }

    private static String capitalized(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
