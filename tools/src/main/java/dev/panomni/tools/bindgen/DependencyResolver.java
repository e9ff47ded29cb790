package dev.panomni.tools.bindgen;

import dev.panomni.tools.bindgen.model.Bindings;
import dev.panomni.tools.bindgen.model.CType;
import dev.panomni.tools.bindgen.model.EnumDecl;
import dev.panomni.tools.bindgen.model.Field;
import dev.panomni.tools.bindgen.model.FunctionDecl;
import dev.panomni.tools.bindgen.model.HeaderModel;
import dev.panomni.tools.bindgen.model.Param;
import dev.panomni.tools.bindgen.model.StructDecl;
import dev.panomni.tools.bindgen.model.TypedefDecl;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The dependency stage: adds what the selected declarations need and checks that everything can be expressed in
 * Java. Structs used by value (parameters, results, members) must be generated for their layouts; enums that types
 * refer to are generated for their constants; typedef names used in signatures get a layout constant. Pointers need
 * nothing: an opaque {@code struct CUctx_st *} is just an address.
 */
public final class DependencyResolver {
    private final HeaderModel model;
    private final Map<String, EnumDecl> enums = new LinkedHashMap<>();
    private final Map<String, StructDecl> structs = new LinkedHashMap<>();
    private final Map<String, TypedefDecl> typedefs = new TreeMap<>();
    private final List<String> problems = new ArrayList<>();

    private DependencyResolver(HeaderModel model) {
        this.model = model;
    }

    public static Bindings resolve(Bindings selected, HeaderModel model, AllowList allow) {
        DependencyResolver r = new DependencyResolver(model);
        for (EnumDecl e : selected.enums()) {
            r.enums.putIfAbsent(e.name(), e);
        }
        for (StructDecl s : selected.structs()) {
            r.addStruct(s, "struct " + s.name());
        }
        for (TypedefDecl t : selected.typedefs()) {
            r.typedefs.put(t.name(), t);
            r.visit(t.target(), "typedef " + t.name(), false);
        }
        for (FunctionDecl f : selected.functions()) {
            String where = "function " + f.name();
            if (f.variadic()) {
                r.problems.add(where + ": variadic functions are not supported");
            }
            r.visit(f.result(), where + " result", true);
            for (Param p : f.params()) {
                if (CType.resolve(p.type()) instanceof CType.Primitive prim && prim.kind() == CType.Kind.VOID) {
                    r.problems.add(where + ": parameter " + p.name() + " has type void");
                }
                r.visit(p.type(), where + " parameter " + p.name(), true);
            }
        }
        if (!r.problems.isEmpty()) {
            throw BindgenException.of(allow.source() + ": the selection cannot be bound:", r.problems);
        }
        return new Bindings(selected.functions(), List.copyOf(r.enums.values()), List.copyOf(r.structs.values()),
                List.copyOf(r.typedefs.values()), selected.macros());
    }

    private void addStruct(StructDecl s, String where) {
        if (structs.containsKey(s.name())) {
            return;
        }
        if (s.unsupported() != null) {
            problems.add(where + ": struct " + s.name() + " has a " + s.unsupported()
                    + ", which the generator cannot lay out");
            return;
        }
        structs.put(s.name(), s);
        for (Field f : s.fields()) {
            visit(f.type(), "struct " + s.name() + " member " + f.name(), true);
        }
    }

    /** {@code byValue}: the type's bytes are part of a signature or record (not behind a pointer). */
    private void visit(CType t, String where, boolean byValue) {
        switch (t) {
            case CType.Typedef td -> {
                CType target = CType.resolve(td);
                boolean layoutTypedef = target instanceof CType.Primitive p && p.kind() != CType.Kind.VOID
                        || target instanceof CType.Pointer || target instanceof CType.EnumRef;
                TypedefDecl decl = model.typedefs().get(td.name());
                // Names starting with __ are the C library's internals (int64_t -> __int64_t): not API.
                if (layoutTypedef && decl != null && !td.name().startsWith("__")) {
                    typedefs.putIfAbsent(td.name(), decl);
                }
                visit(td.target(), where, byValue);
            }
            case CType.Pointer p -> {
                if (!(CType.resolve(p.pointee()) instanceof CType.Function)) {
                    visit(p.pointee(), where, false);
                }
            }
            case CType.EnumRef e -> {
                if (e.name() != null && model.enums().containsKey(e.name())) {
                    EnumDecl decl = model.enums().get(e.name());
                    enums.putIfAbsent(decl.name(), decl);
                }
            }
            case CType.RecordRef r -> {
                if (!byValue) {
                    return;
                }
                StructDecl s = r.name() == null ? null : model.structs().get(r.name());
                if (s == null) {
                    problems.add(where + ": " + (r.union() ? "union " : "struct ")
                            + (r.name() == null ? "(anonymous)" : r.name())
                            + " is used by value but has no body in the headers");
                } else {
                    addStruct(s, where);
                }
            }
            case CType.Array a -> visit(a.element(), where, byValue);
            case CType.Function f -> {
                if (byValue) {
                    problems.add(where + ": a function type used by value");
                }
            }
            case CType.Unsupported u -> {
                if (byValue) {
                    problems.add(where + ": C type '" + u.spelling() + "' has no Java equivalent");
                }
            }
            case CType.Primitive p -> { }
        }
    }
}
