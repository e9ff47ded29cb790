package dev.panomni.tools.bindgen.model;

import java.util.List;
import java.util.Map;

/**
 * Everything the parse stage read from a library's headers.
 *
 * @param functions every function declared, by exported symbol
 * @param functionSymbols for each allow-listed function name, the symbol it resolves to after macro expansion
 * @param enums enums by typedef name and by tag
 * @param structs structs and unions with a body, by typedef name and by tag
 * @param typedefs typedefs by name
 * @param macros the allow-listed macros clang could evaluate to a number or string
 * @param unresolved allow-listed names clang could not resolve, with its message
 */
public record HeaderModel(Map<String, FunctionDecl> functions, Map<String, String> functionSymbols,
                          Map<String, EnumDecl> enums, Map<String, StructDecl> structs,
                          Map<String, TypedefDecl> typedefs, Map<String, MacroDecl> macros,
                          Map<String, String> unresolved, List<String> headerErrors) {}
