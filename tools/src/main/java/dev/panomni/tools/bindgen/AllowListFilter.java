package dev.panomni.tools.bindgen;

import dev.panomni.tools.bindgen.model.Bindings;
import dev.panomni.tools.bindgen.model.EnumDecl;
import dev.panomni.tools.bindgen.model.FunctionDecl;
import dev.panomni.tools.bindgen.model.HeaderModel;
import dev.panomni.tools.bindgen.model.MacroDecl;
import dev.panomni.tools.bindgen.model.StructDecl;
import dev.panomni.tools.bindgen.model.TypedefDecl;

import java.util.ArrayList;
import java.util.List;

/**
 * The filter stage: keeps exactly what the allow-list names. Anything it names that the headers do not declare is an
 * error (all such names are reported together), as is any error clang reported inside the headers.
 */
public final class AllowListFilter {
    private AllowListFilter() {}

    public static Bindings select(HeaderModel model, AllowList allow) {
        if (!model.headerErrors().isEmpty()) {
            List<String> shown = model.headerErrors().subList(0, Math.min(20, model.headerErrors().size()));
            throw BindgenException.of(allow.source() + ": clang reported errors in " + allow.headers()
                    + " (missing include folder? pass --include DIR; see tools/README.md):", shown);
        }
        List<String> problems = new ArrayList<>();
        List<FunctionDecl> functions = new ArrayList<>();
        for (String name : allow.functions()) {
            String symbol = model.functionSymbols().get(name);
            FunctionDecl f = symbol == null ? null : model.functions().get(symbol);
            if (f == null) {
                problems.add("function " + name + ": " + model.unresolved().getOrDefault("function " + name,
                        "not declared by the headers"));
            } else {
                functions.add(f.withName(name));
            }
        }
        List<EnumDecl> enums = new ArrayList<>();
        for (String name : allow.enums()) {
            EnumDecl e = model.enums().get(name);
            if (e == null) {
                problems.add("enum " + name + ": no enum of that name (typedef or tag) is declared by the headers");
            } else {
                enums.add(e);
            }
        }
        List<StructDecl> structs = new ArrayList<>();
        for (String name : allow.structs()) {
            StructDecl s = model.structs().get(name);
            if (s == null) {
                problems.add("struct " + name + ": " + (model.typedefs().containsKey(name)
                        ? "declared, but without a body (an opaque type: list it as 'typedef " + name + "')"
                        : "no struct or union of that name (typedef or tag) is declared by the headers"));
            } else if (s.unsupported() != null) {
                problems.add("struct " + name + ": has a " + s.unsupported() + ", which the generator cannot lay out");
            } else {
                structs.add(s);
            }
        }
        List<TypedefDecl> typedefs = new ArrayList<>();
        for (String name : allow.typedefs()) {
            TypedefDecl t = model.typedefs().get(name);
            if (t == null) {
                problems.add("typedef " + name + ": not declared by the headers");
            } else {
                typedefs.add(t);
            }
        }
        List<MacroDecl> macros = new ArrayList<>();
        for (String name : allow.macros()) {
            MacroDecl m = model.macros().get(name);
            if (m == null) {
                problems.add("macro " + name + ": " + model.unresolved().getOrDefault("macro " + name,
                        "not defined by the headers"));
            } else {
                macros.add(m);
            }
        }
        if (!problems.isEmpty()) {
            throw BindgenException.of(allow.source() + ": " + problems.size() + " allow-listed name(s) cannot be "
                    + "bound from " + allow.headers() + ":", problems);
        }
        return new Bindings(List.copyOf(functions), List.copyOf(enums), List.copyOf(structs), List.copyOf(typedefs),
                List.copyOf(macros));
    }
}
