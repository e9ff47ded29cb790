package dev.panomni.tools.bindgen.clang;

/** The {@code CXTypeKind} values the generator maps (values from {@code clang-c/Index.h}). */
public final class TypeKind {
    public static final int INVALID = 0;
    public static final int UNEXPOSED = 1;
    public static final int VOID = 2;
    public static final int BOOL = 3;
    public static final int CHAR_U = 4;
    public static final int UCHAR = 5;
    public static final int CHAR16 = 6;
    public static final int CHAR32 = 7;
    public static final int USHORT = 8;
    public static final int UINT = 9;
    public static final int ULONG = 10;
    public static final int ULONGLONG = 11;
    public static final int UINT128 = 12;
    public static final int CHAR_S = 13;
    public static final int SCHAR = 14;
    public static final int WCHAR = 15;
    public static final int SHORT = 16;
    public static final int INT = 17;
    public static final int LONG = 18;
    public static final int LONGLONG = 19;
    public static final int INT128 = 20;
    public static final int FLOAT = 21;
    public static final int DOUBLE = 22;
    public static final int LONGDOUBLE = 23;
    public static final int POINTER = 101;
    public static final int RECORD = 105;
    public static final int ENUM = 106;
    public static final int TYPEDEF = 107;
    public static final int FUNCTION_NO_PROTO = 110;
    public static final int FUNCTION_PROTO = 111;
    public static final int CONSTANT_ARRAY = 112;
    public static final int INCOMPLETE_ARRAY = 114;
    public static final int AUTO = 118;
    public static final int ELABORATED = 119;
    public static final int ATTRIBUTED = 163;

    private TypeKind() {}
}
