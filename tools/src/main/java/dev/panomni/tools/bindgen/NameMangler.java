package dev.panomni.tools.bindgen;

import dev.panomni.tools.bindgen.model.Bindings;
import dev.panomni.tools.bindgen.model.EnumDecl;
import dev.panomni.tools.bindgen.model.Field;
import dev.panomni.tools.bindgen.model.FunctionDecl;
import dev.panomni.tools.bindgen.model.Param;
import dev.panomni.tools.bindgen.model.StructDecl;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The naming stage: C names become Java names unchanged where Java allows them (so code reads like the C
 * documentation); Java keywords get a trailing underscore, unnamed parameters become {@code arg0}, ..., and names
 * that would collide with generated members are suffixed. Class names must stay distinct even on case-insensitive
 * file systems; a clash is an error.
 */
public final class NameMangler {
    private static final Set<String> KEYWORDS = Set.of("abstract", "assert", "boolean", "break", "byte", "case",
            "catch", "char", "class", "const", "continue", "default", "do", "double", "else", "enum", "extends",
            "final", "finally", "float", "for", "goto", "if", "implements", "import", "instanceof", "int",
            "interface", "long", "native", "new", "package", "private", "protected", "public", "return", "short",
            "static", "strictfp", "super", "switch", "synchronized", "this", "throw", "throws", "transient", "try",
            "void", "volatile", "while", "true", "false", "null", "_", "var", "record", "yield", "sealed", "permits");
    /** Members every generated struct class has; fields of these names are renamed. */
    private static final Set<String> STRUCT_MEMBERS = Set.of("LAYOUT", "sizeof", "allocate", "allocateArray",
            "asSlice");
    /** Names the generated method bodies use for locals and the allocator parameter. */
    private static final Set<String> RESERVED_PARAMS = Set.of("allocator");

    private NameMangler() {}

    /** A C identifier as a Java identifier. */
    public static String javaName(String c) {
        return KEYWORDS.contains(c) ? c + "_" : c;
    }

    public static Bindings mangle(Bindings b, AllowList allow) {
        checkClassNames(b, allow);
        Set<String> functionNames = new HashSet<>();
        for (FunctionDecl f : b.functions()) {
            functionNames.add(javaName(f.name()));
        }
        List<FunctionDecl> functions = new ArrayList<>();
        for (FunctionDecl f : b.functions()) {
            List<Param> params = new ArrayList<>();
            Set<String> used = new HashSet<>();
            for (int i = 0; i < f.params().size(); i++) {
                Param p = f.params().get(i);
                String n = p.name().isEmpty() ? "arg" + i : javaName(p.name());
                // A parameter named like a function would hide that function's holder class in the method body.
                while (RESERVED_PARAMS.contains(n) || functionNames.contains(n) || !used.add(n)) {
                    n = n + "_";
                }
                params.add(new Param(n, p.type()));
            }
            functions.add(f.withParams(List.copyOf(params)));
        }
        List<StructDecl> structs = new ArrayList<>();
        for (StructDecl s : b.structs()) {
            List<Field> fields = new ArrayList<>();
            Set<String> used = new HashSet<>();
            for (Field f : s.fields()) {
                String n = javaName(f.name());
                while (STRUCT_MEMBERS.contains(n) || !used.add(n)) {
                    n = n + "_";
                }
                fields.add(f.withName(n));
            }
            structs.add(s.withFields(List.copyOf(fields)));
        }
        return new Bindings(List.copyOf(functions), b.enums(), List.copyOf(structs), b.typedefs(), b.macros());
    }

    private static void checkClassNames(Bindings b, AllowList allow) {
        Map<String, String> owners = new HashMap<>();
        List<String> problems = new ArrayList<>();
        claim(owners, problems, allow.functionsClass(), "functions class");
        claim(owners, problems, allow.constantsClass(), "constants class");
        claim(owners, problems, allow.typesClass(), "types class");
        for (EnumDecl e : b.enums()) {
            claim(owners, problems, javaName(e.name()), "enum " + e.name());
        }
        for (StructDecl s : b.structs()) {
            claim(owners, problems, javaName(s.name()), "struct " + s.name());
        }
        if (!problems.isEmpty()) {
            throw BindgenException.of(allow.source() + ": generated class names collide:", problems);
        }
    }

    private static void claim(Map<String, String> owners, List<String> problems, String name, String owner) {
        String previous = owners.putIfAbsent(name.toLowerCase(Locale.ROOT), owner);
        if (previous != null) {
            problems.add(owner + " and " + previous + " would both be class " + name);
        }
    }
}
