package dev.panomni.tools.bindgen.model;

import java.util.List;

/**
 * A C enum.
 *
 * @param name its typedef name when a typedef names it directly, else its tag
 * @param integerType the integer type the compiler gave it
 * @param declaration how the header names it, for the documentation ({@code enum cudaError_enum} / {@code CUresult})
 */
public record EnumDecl(String name, CType.Kind integerType, List<EnumConstant> constants, String declaration) {}
