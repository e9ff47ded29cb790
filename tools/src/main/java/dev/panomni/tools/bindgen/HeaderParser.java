package dev.panomni.tools.bindgen;

import dev.panomni.tools.bindgen.clang.ClangType;
import dev.panomni.tools.bindgen.clang.Cursor;
import dev.panomni.tools.bindgen.clang.CursorKind;
import dev.panomni.tools.bindgen.clang.Diagnostic;
import dev.panomni.tools.bindgen.clang.EvalResult;
import dev.panomni.tools.bindgen.clang.LibClang;
import dev.panomni.tools.bindgen.clang.TranslationUnit;
import dev.panomni.tools.bindgen.clang.TypeKind;
import dev.panomni.tools.bindgen.model.CType;
import dev.panomni.tools.bindgen.model.EnumConstant;
import dev.panomni.tools.bindgen.model.EnumDecl;
import dev.panomni.tools.bindgen.model.Field;
import dev.panomni.tools.bindgen.model.FunctionDecl;
import dev.panomni.tools.bindgen.model.HeaderModel;
import dev.panomni.tools.bindgen.model.MacroDecl;
import dev.panomni.tools.bindgen.model.Param;
import dev.panomni.tools.bindgen.model.StructDecl;
import dev.panomni.tools.bindgen.model.TypedefDecl;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The parse stage: runs libclang over a synthetic C file that includes the library's headers and converts every
 * top-level declaration into the generator's model ({@link HeaderModel}).
 *
 * <p>Two things need the compiler's help and get a line each in the synthetic file:
 * <ul>
 *   <li>functions: {@code void *const __panomni_function_cuMemAlloc = (void *) &cuMemAlloc;} lets clang apply the
 *       header's versioning macros, so the reference resolves to the symbol the library exports
 *       ({@code cuMemAlloc_v2});</li>
 *   <li>macros: {@code static const __auto_type __panomni_macro_X = X;} has clang evaluate the macro with its own
 *       constant folding and type rules (no parentheses around {@code X}: libclang reads a string literal only when
 *       it is the direct operand of the implicit array-to-pointer conversion).</li>
 * </ul>
 */
public final class HeaderParser {
    /** The name of the synthetic main file (it exists only in memory). */
    static final String MAIN_FILE = "panomni_bindgen_main.c";
    private static final String FUNCTION_PREFIX = "__panomni_function_";
    private static final String MACRO_PREFIX = "__panomni_macro_";

    private HeaderParser() {}

    /** Parses {@code allow}'s headers with {@code extraIncludes} searched before the allow-list's own folders. */
    public static HeaderModel parse(AllowList allow, List<Path> extraIncludes) {
        LibClang clang = LibClang.load();
        Synthetic main = mainFile(allow);
        try (TranslationUnit tu = TranslationUnit.parse(clang, MAIN_FILE, main.text(),
                compilerArgs(allow, extraIncludes))) {
            return new Reader(tu, main).read();
        }
    }

    /** The folders searched for headers, in order: {@code extra}, then the allow-list's existing folders. */
    public static List<Path> includeFolders(AllowList allow, List<Path> extra) {
        List<Path> out = new ArrayList<>(extra);
        for (String s : allow.includes()) {
            Path p = Path.of(s);
            if (Files.isDirectory(p) && !out.contains(p)) {
                out.add(p);
            }
        }
        return out;
    }

    /** Where each header would be found, or empty when one is missing (tests skip then). */
    public static Optional<List<Path>> locateHeaders(AllowList allow, List<Path> extra) {
        List<Path> folders = new ArrayList<>(includeFolders(allow, extra));
        folders.add(Path.of("/usr/local/include"));
        folders.add(Path.of("/usr/include"));
        List<Path> found = new ArrayList<>();
        for (String header : allow.headers()) {
            Optional<Path> hit = folders.stream().map(f -> f.resolve(header)).filter(Files::isRegularFile).findFirst();
            if (hit.isEmpty()) {
                return Optional.empty();
            }
            found.add(hit.get());
        }
        return Optional.of(found);
    }

    static List<String> compilerArgs(AllowList allow, List<Path> extraIncludes) {
        List<String> args = new ArrayList<>(List.of("-x", "c", "-std=gnu11", "-ferror-limit=0"));
        for (Path p : includeFolders(allow, extraIncludes)) {
            args.add("-I" + p);
        }
        for (String d : allow.defines()) {
            args.add("-D" + d);
        }
        builtinHeaderFallback().ifPresent(dir -> {
            args.add("-isystem");
            args.add(dir.toString());
        });
        return args;
    }

    /**
     * libclang finds its own builtin headers (stddef.h) in {@code /usr/lib/llvm-N/lib/clang/<version>/include},
     * which Debian ships in libclang-common-N-dev; when that is missing, GCC's equivalents serve.
     */
    private static Optional<Path> builtinHeaderFallback() {
        if (globFirst(Path.of("/usr/lib"), "llvm-", "lib/clang", "include/stddef.h").isPresent()) {
            return Optional.empty();
        }
        return globFirst(Path.of("/usr/lib/gcc/x86_64-linux-gnu"), "", null, "include/stddef.h")
                .or(() -> globFirst(Path.of("/usr/lib/gcc/aarch64-linux-gnu"), "", null, "include/stddef.h"))
                .map(p -> p.getParent());
    }

    private static Optional<Path> globFirst(Path root, String prefix, String middle, String leaf) {
        if (!Files.isDirectory(root)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(root)) {
            for (Path dir : s.filter(p -> p.getFileName().toString().startsWith(prefix))
                    .sorted(Comparator.reverseOrder()).toList()) {
                if (middle == null) {
                    Path hit = dir.resolve(leaf);
                    if (Files.isRegularFile(hit)) {
                        return Optional.of(hit);
                    }
                    continue;
                }
                Path mid = dir.resolve(middle);
                if (!Files.isDirectory(mid)) {
                    continue;
                }
                try (Stream<Path> versions = Files.list(mid)) {
                    for (Path v : versions.toList()) {
                        if (Files.isRegularFile(v.resolve(leaf))) {
                            return Optional.of(v.resolve(leaf));
                        }
                    }
                }
            }
        } catch (java.io.IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /** The synthetic main file and, for each of its probe lines, the allow-listed name it resolves. */
    record Synthetic(String text, Map<Integer, String> lineToName) {}

    static Synthetic mainFile(AllowList allow) {
        StringBuilder sb = new StringBuilder();
        Map<Integer, String> lines = new HashMap<>();
        int line = 1;
        for (String h : allow.headers()) {
            sb.append("#include \"").append(h).append("\"\n");
            line++;
        }
        for (String f : allow.functions()) {
            sb.append("void *const ").append(FUNCTION_PREFIX).append(f).append(" = (void *) &").append(f).append(";\n");
            lines.put(line++, "function " + f);
        }
        for (String m : allow.macros()) {
            sb.append("static const __auto_type ").append(MACRO_PREFIX).append(m).append(" = ").append(m)
                    .append(";\n");
            lines.put(line++, "macro " + m);
        }
        return new Synthetic(sb.toString(), lines);
    }

    /** Converts one translation unit; holds the name tables the conversion needs. */
    private static final class Reader {
        private final TranslationUnit tu;
        private final Synthetic main;
        private final Map<String, String> preferredName = new HashMap<>(); // type key -> typedef or tag name
        private final Map<String, String> tagName = new HashMap<>();
        private final Map<String, Cursor> typedefCursors = new LinkedHashMap<>();
        private final Map<String, Cursor> recordDefinitions = new LinkedHashMap<>();
        private final Map<String, Cursor> enumDefinitions = new LinkedHashMap<>();
        private final Map<String, Cursor> functionCursors = new LinkedHashMap<>();
        private final Map<String, Cursor> probes = new LinkedHashMap<>();
        private final Map<String, CType> typedefMemo = new HashMap<>();

        Reader(TranslationUnit tu, Synthetic main) {
            this.tu = tu;
            this.main = main;
        }

        HeaderModel read() {
            for (Cursor c : tu.children(tu.root())) {
                index(c);
            }
            Map<String, EnumDecl> enums = new LinkedHashMap<>();
            for (Map.Entry<String, Cursor> e : enumDefinitions.entrySet()) {
                EnumDecl decl = enumDecl(e.getKey(), e.getValue());
                if (decl.name() != null) {
                    enums.putIfAbsent(decl.name(), decl);
                    String tag = tagName.get(e.getKey());
                    if (tag != null) {
                        enums.putIfAbsent(tag, decl);
                    }
                }
            }
            Map<String, StructDecl> structs = new LinkedHashMap<>();
            for (Map.Entry<String, Cursor> e : recordDefinitions.entrySet()) {
                StructDecl decl = structDecl(e.getKey(), e.getValue());
                if (decl.name() != null) {
                    structs.putIfAbsent(decl.name(), decl);
                    String tag = tagName.get(e.getKey());
                    if (tag != null) {
                        structs.putIfAbsent(tag, decl);
                    }
                }
            }
            Map<String, TypedefDecl> typedefs = new LinkedHashMap<>();
            for (Map.Entry<String, Cursor> e : typedefCursors.entrySet()) {
                ClangType underlying = tu.typedefUnderlying(e.getValue());
                ClangType named = stripSugar(underlying);
                String text = tu.spelling(underlying);
                if ((named.kind() == TypeKind.RECORD || named.kind() == TypeKind.ENUM)
                        && !tagName.containsKey(key(named))) {
                    text = (named.kind() == TypeKind.ENUM ? "enum"
                            : tu.declaration(named).kind() == CursorKind.UNION_DECL ? "union" : "struct") + " {...}";
                }
                typedefs.put(e.getKey(), new TypedefDecl(e.getKey(), typedefTarget(e.getKey(), e.getValue()),
                        "typedef " + declarator(text, e.getKey())));
            }
            Map<String, FunctionDecl> functions = new LinkedHashMap<>();
            for (Map.Entry<String, Cursor> e : functionCursors.entrySet()) {
                functions.put(e.getKey(), functionDecl(e.getKey(), e.getValue()));
            }

            Map<String, String> mainErrors = new HashMap<>();
            List<String> headerErrors = new ArrayList<>();
            for (Diagnostic d : tu.diagnostics()) {
                if (!d.isError()) {
                    continue;
                }
                String owner = probeOwner(d.text());
                if (owner != null) {
                    mainErrors.merge(owner, d.text(), (a, b) -> a + "; " + b);
                } else {
                    headerErrors.add(d.text());
                }
            }

            Map<String, String> symbols = new LinkedHashMap<>();
            Map<String, MacroDecl> macros = new LinkedHashMap<>();
            Map<String, String> unresolved = new LinkedHashMap<>();
            for (Map.Entry<String, Cursor> e : probes.entrySet()) {
                String probe = e.getKey();
                if (probe.startsWith(FUNCTION_PREFIX)) {
                    String name = probe.substring(FUNCTION_PREFIX.length());
                    Optional<String> symbol = referencedFunction(e.getValue());
                    if (symbol.isPresent() && functions.containsKey(symbol.get())) {
                        symbols.put(name, symbol.get());
                    } else {
                        unresolved.put("function " + name, mainErrors.getOrDefault("function " + name,
                                "not a function declared by the headers"));
                    }
                } else {
                    String name = probe.substring(MACRO_PREFIX.length());
                    MacroDecl m = macro(name, e.getValue());
                    if (m != null && !mainErrors.containsKey("macro " + name)) {
                        macros.put(name, m);
                    } else {
                        unresolved.put("macro " + name, mainErrors.getOrDefault("macro " + name,
                                "does not evaluate to a number or a string"));
                    }
                }
            }
            return new HeaderModel(functions, symbols, enums, structs, typedefs, macros, unresolved, headerErrors);
        }

        private void index(Cursor c) {
            int kind = c.kind();
            switch (kind) {
                case CursorKind.TYPEDEF_DECL -> {
                    String name = tu.spelling(c);
                    typedefCursors.putIfAbsent(name, c);
                    ClangType u = stripSugar(tu.typedefUnderlying(c));
                    if (u.kind() == TypeKind.RECORD || u.kind() == TypeKind.ENUM) {
                        preferredName.putIfAbsent(key(u), name);
                    }
                }
                case CursorKind.STRUCT_DECL, CursorKind.UNION_DECL, CursorKind.ENUM_DECL -> {
                    String key = key(tu.type(c));
                    if (!unnamed(c)) {
                        tagName.putIfAbsent(key, tu.spelling(c));
                    }
                    tu.definition(c).ifPresent(def -> {
                        if (kind == CursorKind.ENUM_DECL) {
                            enumDefinitions.putIfAbsent(key, def);
                        } else {
                            recordDefinitions.putIfAbsent(key, def);
                        }
                    });
                }
                case CursorKind.FUNCTION_DECL -> functionCursors.putIfAbsent(tu.spelling(c), c);
                case CursorKind.VAR_DECL -> {
                    String name = tu.spelling(c);
                    if (name.startsWith(FUNCTION_PREFIX) || name.startsWith(MACRO_PREFIX)) {
                        probes.put(name, c);
                    }
                }
                default -> { }
            }
        }

        /** A record or enum without a tag: libclang spells it empty (14) or "(unnamed at ...)" (16 and later). */
        private boolean unnamed(Cursor c) {
            String s = tu.spelling(c);
            return s.isEmpty() || s.contains("(unnamed") || s.contains("(anonymous") || tu.isAnonymous(c);
        }

        private String probeOwner(String diagnostic) {
            String prefix = MAIN_FILE + ":";
            if (!diagnostic.startsWith(prefix)) {
                return null;
            }
            String rest = diagnostic.substring(prefix.length());
            int colon = rest.indexOf(':');
            try {
                return main.lineToName().get(Integer.parseInt(rest.substring(0, colon)));
            } catch (RuntimeException e) {
                return null;
            }
        }

        private Optional<String> referencedFunction(Cursor probe) {
            for (Cursor d : tu.descendants(probe)) {
                if (d.kind() == CursorKind.DECL_REF_EXPR) {
                    Optional<Cursor> target = tu.referenced(d);
                    if (target.isPresent() && target.get().kind() == CursorKind.FUNCTION_DECL) {
                        return Optional.of(tu.spelling(target.get()));
                    }
                }
            }
            return Optional.empty();
        }

        private MacroDecl macro(String name, Cursor probe) {
            EvalResult r = tu.evaluate(probe);
            if (!r.isPresent()) {
                return null;
            }
            CType t = CType.resolve(convert(tu.type(probe)));
            if (r.value() instanceof String s) {
                return new MacroDecl(name, s, null);
            }
            if (t instanceof CType.Primitive p && p.kind() != CType.Kind.VOID) {
                return new MacroDecl(name, r.value(), p.kind());
            }
            return null;
        }

        private EnumDecl enumDecl(String key, Cursor def) {
            String name = preferredName.getOrDefault(key, tagName.get(key));
            CType integer = convert(tu.enumIntegerType(def));
            CType.Kind kind = integer instanceof CType.Primitive p ? p.kind() : CType.Kind.INT;
            boolean unsigned = switch (kind) {
                case UCHAR, USHORT, UINT, ULONG, ULONGLONG, BOOL -> true;
                default -> false;
            };
            List<EnumConstant> constants = new ArrayList<>();
            for (Cursor c : tu.children(def)) {
                if (c.kind() == CursorKind.ENUM_CONSTANT_DECL) {
                    constants.add(new EnumConstant(tu.spelling(c), tu.enumConstantValue(c, unsigned)));
                }
            }
            String tag = tagName.get(key);
            String typedef = preferredName.get(key);
            String declaration = typedef != null
                    ? "typedef enum " + (tag != null ? tag + " " : "") + "{...} " + typedef
                    : "enum " + tag;
            return new EnumDecl(name, kind, List.copyOf(constants), declaration);
        }

        private StructDecl structDecl(String key, Cursor def) {
            String name = preferredName.getOrDefault(key, tagName.get(key));
            boolean union = def.kind() == CursorKind.UNION_DECL;
            ClangType type = tu.type(def);
            List<Field> fields = new ArrayList<>();
            String unsupported = null;
            List<String> anonymousMembers = new ArrayList<>();
            StringBuilder body = new StringBuilder();
            for (Cursor c : tu.children(def)) {
                if ((c.kind() == CursorKind.STRUCT_DECL || c.kind() == CursorKind.UNION_DECL) && unnamed(c)) {
                    anonymousMembers.add(key(tu.type(c)));
                }
                if (c.kind() != CursorKind.FIELD_DECL) {
                    continue;
                }
                String fieldName = tu.spelling(c);
                ClangType ft = tu.type(c);
                anonymousMembers.remove(key(ft));
                String text = declarator(tu.spelling(ft), fieldName);
                body.append("    ").append(text).append(";\n");
                if (tu.isBitField(c) && unsupported == null) {
                    unsupported = "bit-field " + fieldName;
                }
                long offsetBits = tu.fieldOffsetBits(c);
                fields.add(new Field(fieldName, convert(ft), Math.max(0, offsetBits) / 8, text));
            }
            if (!anonymousMembers.isEmpty() && unsupported == null) {
                unsupported = "anonymous struct/union member";
            }
            String tag = tagName.get(key);
            String typedef = preferredName.get(key);
            String kw = union ? "union" : "struct";
            String declaration = (typedef != null ? "typedef " : "") + kw + (tag != null ? " " + tag : "") + " {\n"
                    + body + "}" + (typedef != null ? " " + typedef : "");
            return new StructDecl(name, union, tu.sizeOf(type), tu.alignOf(type), List.copyOf(fields), unsupported,
                    declaration);
        }

        private FunctionDecl functionDecl(String symbol, Cursor c) {
            ClangType ft = tu.type(c);
            CType result = convert(tu.resultType(ft));
            List<Param> params = new ArrayList<>();
            List<String> texts = new ArrayList<>();
            int n = Math.max(0, tu.argCount(ft));
            List<Cursor> decls = tu.arguments(c);
            for (int i = 0; i < n; i++) {
                ClangType at = tu.argType(ft, i);
                String pname = i < decls.size() ? tu.spelling(decls.get(i)) : "";
                params.add(new Param(pname, convert(at)));
                texts.add(declarator(tu.spelling(at), pname));
            }
            boolean variadic = ft.kind() == TypeKind.FUNCTION_PROTO && tu.isVariadic(ft);
            if (variadic) {
                texts.add("...");
            }
            String paramText = texts.isEmpty() ? (ft.kind() == TypeKind.FUNCTION_PROTO ? "void" : "")
                    : String.join(", ", texts);
            String declaration = declarator(tu.spelling(tu.resultType(ft)), symbol) + "(" + paramText + ")";
            return new FunctionDecl(symbol, symbol, result, List.copyOf(params), variadic, declaration);
        }

        private CType typedefTarget(String name, Cursor c) {
            CType memo = typedefMemo.get(name);
            if (memo != null) {
                return memo;
            }
            CType target = convert(tu.typedefUnderlying(c));
            typedefMemo.put(name, target);
            return target;
        }

        private CType convert(ClangType t) {
            int kind = t.kind();
            return switch (kind) {
                case TypeKind.ELABORATED -> convert(tu.namedType(t));
                case TypeKind.ATTRIBUTED -> convert(tu.modifiedType(t));
                case TypeKind.AUTO -> convert(tu.canonical(t));
                case TypeKind.TYPEDEF -> {
                    Cursor decl = tu.declaration(t);
                    String name = tu.spelling(decl);
                    yield new CType.Typedef(name, typedefTarget(name, decl));
                }
                case TypeKind.POINTER -> new CType.Pointer(convert(tu.pointee(t)));
                case TypeKind.RECORD -> {
                    String key = key(t);
                    boolean union = tu.declaration(t).kind() == CursorKind.UNION_DECL;
                    yield new CType.RecordRef(preferredName.getOrDefault(key, tagName.get(key)), union);
                }
                case TypeKind.ENUM -> {
                    String key = key(t);
                    yield new CType.EnumRef(preferredName.getOrDefault(key, tagName.get(key)));
                }
                case TypeKind.CONSTANT_ARRAY -> new CType.Array(convert(tu.arrayElement(t)), tu.arraySize(t));
                case TypeKind.INCOMPLETE_ARRAY -> new CType.Array(convert(tu.arrayElement(t)), -1);
                case TypeKind.FUNCTION_PROTO, TypeKind.FUNCTION_NO_PROTO -> {
                    List<CType> params = new ArrayList<>();
                    for (int i = 0; i < Math.max(0, tu.argCount(t)); i++) {
                        params.add(convert(tu.argType(t, i)));
                    }
                    yield new CType.Function(convert(tu.resultType(t)), List.copyOf(params),
                            kind == TypeKind.FUNCTION_PROTO && tu.isVariadic(t));
                }
                default -> primitive(kind).<CType>map(CType.Primitive::new)
                        .orElseGet(() -> new CType.Unsupported(tu.spelling(t)));
            };
        }

        private static Optional<CType.Kind> primitive(int kind) {
            return Optional.ofNullable(switch (kind) {
                case TypeKind.VOID -> CType.Kind.VOID;
                case TypeKind.BOOL -> CType.Kind.BOOL;
                case TypeKind.CHAR_S, TypeKind.CHAR_U -> CType.Kind.CHAR;
                case TypeKind.SCHAR -> CType.Kind.SCHAR;
                case TypeKind.UCHAR -> CType.Kind.UCHAR;
                case TypeKind.SHORT -> CType.Kind.SHORT;
                case TypeKind.USHORT -> CType.Kind.USHORT;
                case TypeKind.INT -> CType.Kind.INT;
                case TypeKind.UINT -> CType.Kind.UINT;
                case TypeKind.LONG -> CType.Kind.LONG;
                case TypeKind.ULONG -> CType.Kind.ULONG;
                case TypeKind.LONGLONG -> CType.Kind.LONGLONG;
                case TypeKind.ULONGLONG -> CType.Kind.ULONGLONG;
                case TypeKind.FLOAT -> CType.Kind.FLOAT;
                case TypeKind.DOUBLE -> CType.Kind.DOUBLE;
                default -> null;
            });
        }

        private ClangType stripSugar(ClangType t) {
            while (t.kind() == TypeKind.ELABORATED || t.kind() == TypeKind.ATTRIBUTED) {
                t = t.kind() == TypeKind.ELABORATED ? tu.namedType(t) : tu.modifiedType(t);
            }
            return t;
        }

        /** A record's or enum's identity: its canonical spelling (unique even for anonymous ones). */
        private String key(ClangType t) {
            return tu.spelling(tu.canonical(t));
        }
    }

    /** Writes a C declarator: {@code int *} + {@code p} gives {@code int *p}; arrays and function pointers too. */
    static String declarator(String typeSpelling, String name) {
        if (name == null || name.isEmpty()) {
            return typeSpelling;
        }
        int fnPtr = typeSpelling.indexOf("(*)");
        if (fnPtr >= 0) {
            return typeSpelling.substring(0, fnPtr) + "(*" + name + ")" + typeSpelling.substring(fnPtr + 3);
        }
        int bracket = typeSpelling.indexOf('[');
        if (bracket >= 0) {
            return typeSpelling.substring(0, bracket).trim() + " " + name + typeSpelling.substring(bracket);
        }
        return typeSpelling.endsWith("*") ? typeSpelling + name : typeSpelling + " " + name;
    }
}
