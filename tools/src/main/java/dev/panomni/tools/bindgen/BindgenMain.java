package dev.panomni.tools.bindgen;

import dev.panomni.tools.bindgen.clang.LibClang;
import dev.panomni.tools.bindgen.clang.TranslationUnit;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Command line of the binding generator.
 * <pre>
 * bindgen [--check] [--out DIR] [--include DIR]... ALLOW-LIST...
 *   --out DIR      Java source root to write or check (default bindings/src/main/java)
 *   --include DIR  header folder searched before the allow-list's own (repeatable); the environment variable
 *                  PANOMNI_BINDGEN_INCLUDE (':'-separated) adds more
 *   --check        regenerate into a temporary folder and compare with --out; exit 1 on any difference
 * </pre>
 * Exit status: 0 done (or no difference), 1 differences found, 2 error.
 */
public final class BindgenMain {
    private BindgenMain() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        boolean check = false;
        Path root = Path.of("bindings/src/main/java");
        List<Path> includes = new ArrayList<>();
        List<Path> allowFiles = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--check" -> check = true;
                case "--out" -> root = Path.of(value(args, ++i, "--out"));
                case "--include" -> includes.add(Path.of(value(args, ++i, "--include")));
                case "-h", "--help" -> {
                    out.println("usage: bindgen [--check] [--out DIR] [--include DIR]... ALLOW-LIST...");
                    return 0;
                }
                default -> {
                    if (args[i].startsWith("-")) {
                        err.println("bindgen: unknown option " + args[i]);
                        return 2;
                    }
                    allowFiles.add(Path.of(args[i]));
                }
            }
        }
        includes.addAll(environmentIncludes());
        if (allowFiles.isEmpty()) {
            err.println("bindgen: name at least one allow-list (tools/bindgen/*.allow)");
            return 2;
        }
        if (!LibClang.isAvailable()) {
            err.println("bindgen: libclang is not installed.\n" + String.join("\n", LibClang.LIBRARY.searchLog())
                    + "\nRun tools/scripts/install-libclang.sh (or -Dpanomni.libclang.lib=/path/to/libclang.so.1).");
            return 2;
        }
        out.println("bindgen: " + TranslationUnit.clangVersion(LibClang.load()) + " from "
                + LibClang.LIBRARY.location().orElse("?"));
        int status = 0;
        for (Path file : allowFiles) {
            try {
                AllowList allow = AllowList.read(file);
                Map<String, String> files = Bindgen.generate(allow, includes);
                if (check) {
                    Path tmp = Files.createTempDirectory("panomni-bindgen-" + allow.id());
                    GeneratedSources.write(tmp, files, allow.id());
                    List<String> diffs = GeneratedSources.compare(root, files, allow.id());
                    if (diffs.isEmpty()) {
                        out.println("bindgen: " + allow.id() + ": " + files.size() + " files match " + root);
                    } else {
                        status = Math.max(status, 1);
                        err.println("bindgen: " + allow.id() + ": committed bindings differ from the headers ("
                                + diffs.size() + " files):");
                        diffs.forEach(d -> err.println("  " + d));
                        err.println("  fresh output: " + tmp + "   (diff -ru " + root + " " + tmp + ")");
                        err.println("  regenerate: tools/scripts/bindgen.sh " + file);
                    }
                } else {
                    List<Path> written = GeneratedSources.write(root, files, allow.id());
                    out.println("bindgen: " + allow.id() + ": wrote " + written.size() + " files under " + root);
                }
            } catch (BindgenException | IllegalArgumentException | IllegalStateException e) {
                err.println("bindgen: " + e.getMessage());
                status = 2;
            } catch (IOException e) {
                err.println("bindgen: " + file + ": " + e);
                status = 2;
            }
        }
        return status;
    }

    /** Folders from {@code PANOMNI_BINDGEN_INCLUDE} (':'-separated). */
    public static List<Path> environmentIncludes() {
        List<Path> out = new ArrayList<>();
        String env = System.getenv("PANOMNI_BINDGEN_INCLUDE");
        if (env != null) {
            for (String s : env.split(":")) {
                if (!s.isBlank()) {
                    out.add(Path.of(s.trim()));
                }
            }
        }
        return out;
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }
}
