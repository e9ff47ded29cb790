package dev.panomni.tools.bindgen.model;

import java.util.List;

/** What one library's generated sources contain, after filtering and dependency resolution. */
public record Bindings(List<FunctionDecl> functions, List<EnumDecl> enums, List<StructDecl> structs,
                       List<TypedefDecl> typedefs, List<MacroDecl> macros) {}
