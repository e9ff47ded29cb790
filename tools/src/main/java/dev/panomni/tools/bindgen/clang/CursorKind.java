package dev.panomni.tools.bindgen.clang;

/** The {@code CXCursorKind} values the generator looks at (values from {@code clang-c/Index.h}). */
public final class CursorKind {
    public static final int STRUCT_DECL = 2;
    public static final int UNION_DECL = 3;
    public static final int ENUM_DECL = 5;
    public static final int FIELD_DECL = 6;
    public static final int ENUM_CONSTANT_DECL = 7;
    public static final int FUNCTION_DECL = 8;
    public static final int VAR_DECL = 9;
    public static final int PARM_DECL = 10;
    public static final int TYPEDEF_DECL = 20;
    public static final int DECL_REF_EXPR = 101;
    public static final int TRANSLATION_UNIT = 300;

    private CursorKind() {}
}
