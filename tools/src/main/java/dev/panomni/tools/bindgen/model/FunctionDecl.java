package dev.panomni.tools.bindgen.model;

import java.util.List;

/**
 * A C function. {@code name} is the name the API documents and callers use ({@code cuMemAlloc}); {@code symbol} is
 * what the library exports after the header's versioning macros ({@code cuMemAlloc_v2}); they are equal for most.
 *
 * @param declaration the C declaration as written for the documentation
 */
public record FunctionDecl(String name, String symbol, CType result, List<Param> params, boolean variadic,
                           String declaration) {
    public FunctionDecl withName(String apiName) {
        return new FunctionDecl(apiName, symbol, result, params, variadic, declaration);
    }

    public FunctionDecl withParams(List<Param> newParams) {
        return new FunctionDecl(name, symbol, result, newParams, variadic, declaration);
    }
}
