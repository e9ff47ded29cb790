package dev.panomni.tools.bindgen;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One library's allow-list ({@code tools/bindgen/<library>.allow}): where its headers are, what Java to generate,
 * and exactly which symbols. Line format, {@code #} starts a comment:
 * <pre>
 * library   CUDA                       the dev.panomni.bindings.NativeLibrary constant the functions bind to
 * package   dev.panomni.bindings.cuda
 * class     CudaDriver                 functions go here (one lazily linked downcall handle each)
 * constants CudaConstants              macros go here
 * types     CudaTypes                  typedef layouts go here
 * header    cuda.h                     #included in order; more than one allowed
 * include   /usr/local/cuda/include    default header search folders (--include adds folders before these)
 * define    NAME=VALUE                 passed to clang as -D
 * function  cuMemAlloc                 the documented name; versioning macros resolve it (cuMemAlloc_v2)
 * enum      CUstream_flags             enums used by allow-listed functions come without a line
 * struct    CUuuid                     structs passed by value come without a line
 * typedef   CUcontext
 * macro     CUDA_VERSION
 * </pre>
 */
public record AllowList(Path source, String library, String packageName, String functionsClass,
                        String constantsClass, String typesClass, List<String> headers, List<String> includes,
                        List<String> defines, List<String> functions, List<String> enums, List<String> structs,
                        List<String> typedefs, List<String> macros) {

    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern QUALIFIED = Pattern.compile("[a-z_][a-z0-9_]*(\\.[a-z_][a-z0-9_]*)*");

    /** The allow-list's file name without {@code .allow} ({@code cuda}). */
    public String id() {
        String n = source.getFileName().toString();
        return n.endsWith(".allow") ? n.substring(0, n.length() - ".allow".length()) : n;
    }

    /** Every name the allow-list asks for, in order, for messages. */
    public int size() {
        return functions.size() + enums.size() + structs.size() + typedefs.size() + macros.size();
    }

    /** Reads and validates an allow-list file; errors name the file and line. */
    public static AllowList read(Path file) throws IOException {
        return parse(file, Files.readAllLines(file));
    }

    static AllowList parse(Path file, List<String> lines) {
        String library = null, pkg = null, cls = null, constants = null, types = null;
        List<String> headers = new ArrayList<>(), includes = new ArrayList<>(), defines = new ArrayList<>();
        List<String> functions = new ArrayList<>(), enums = new ArrayList<>(), structs = new ArrayList<>();
        List<String> typedefs = new ArrayList<>(), macros = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).replaceFirst("#.*", "").trim();
            if (line.isEmpty()) {
                continue;
            }
            String[] parts = line.split("\\s+");
            String where = file + ":" + (i + 1);
            if (parts.length != 2) {
                throw new IllegalArgumentException(where + ": expected '<keyword> <value>', got '" + line + "'");
            }
            String key = parts[0];
            String value = parts[1];
            switch (key) {
                case "library" -> library = single(where, key, library, identifier(where, value));
                case "package" -> {
                    if (!QUALIFIED.matcher(value).matches()) {
                        throw new IllegalArgumentException(where + ": '" + value + "' is not a Java package name");
                    }
                    pkg = single(where, key, pkg, value);
                }
                case "class" -> cls = single(where, key, cls, identifier(where, value));
                case "constants" -> constants = single(where, key, constants, identifier(where, value));
                case "types" -> types = single(where, key, types, identifier(where, value));
                case "header" -> headers.add(value);
                case "include" -> includes.add(value);
                case "define" -> defines.add(value);
                case "function", "enum", "struct", "typedef", "macro" -> {
                    identifier(where, value);
                    if (!seen.add(key + " " + value)) {
                        throw new IllegalArgumentException(where + ": " + key + " " + value + " is listed twice");
                    }
                    switch (key) {
                        case "function" -> functions.add(value);
                        case "enum" -> enums.add(value);
                        case "struct" -> structs.add(value);
                        case "typedef" -> typedefs.add(value);
                        default -> macros.add(value);
                    }
                }
                default -> throw new IllegalArgumentException(where + ": unknown keyword '" + key
                        + "' (known: library package class constants types header include define function enum "
                        + "struct typedef macro)");
            }
        }
        require(file, "library", library);
        require(file, "package", pkg);
        require(file, "class", cls);
        if (headers.isEmpty()) {
            throw new IllegalArgumentException(file + ": needs at least one 'header' line");
        }
        if (constants == null) {
            constants = cls + "Constants";
        }
        if (types == null) {
            types = cls + "Types";
        }
        return new AllowList(file, library, pkg, cls, constants, types, List.copyOf(headers), List.copyOf(includes),
                List.copyOf(defines), List.copyOf(functions), List.copyOf(enums), List.copyOf(structs),
                List.copyOf(typedefs), List.copyOf(macros));
    }

    private static String identifier(String where, String value) {
        if (!IDENTIFIER.matcher(value).matches()) {
            throw new IllegalArgumentException(where + ": '" + value + "' is not a C identifier");
        }
        return value;
    }

    private static String single(String where, String key, String previous, String value) {
        if (previous != null) {
            throw new IllegalArgumentException(where + ": '" + key + "' given twice");
        }
        return value;
    }

    private static void require(Path file, String key, String value) {
        if (value == null) {
            throw new IllegalArgumentException(file + ": missing '" + key + "' line");
        }
    }
}
