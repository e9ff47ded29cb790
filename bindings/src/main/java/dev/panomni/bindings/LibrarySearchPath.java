package dev.panomni.bindings;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The folders a native library is looked for in, in order: the CUDA install folders, the usual system library folders,
 * {@code LD_LIBRARY_PATH}, the dynamic linker's configured folders ({@code /etc/ld.so.conf}), then the {@code lib}
 * folders of NVIDIA's Python wheels ({@code site-packages/nvidia/*}{@code /lib}). Folders that do not exist are kept
 * (the not-found report names them too); stub folders ({@code .../stubs}) are skipped because their libraries load
 * but do nothing.
 */
final class LibrarySearchPath {
    private final UnaryOperator<String> env;

    LibrarySearchPath(UnaryOperator<String> env) {
        this.env = env;
    }

    /** One entry of the search: a folder and the reason it is searched. */
    record Folder(Path path, String origin) {}

    /** The standard folders, deduplicated, in search order; {@code extraGlobs} are searched right after the CUDA ones. */
    List<Folder> folders(List<String> extraGlobs) {
        List<Folder> out = new ArrayList<>();
        for (String var : List.of("CUDA_HOME", "CUDA_PATH")) {
            String home = env.apply(var);
            if (home != null && !home.isBlank()) {
                out.add(new Folder(Path.of(home, "lib64"), "$" + var));
                out.add(new Folder(Path.of(home, "targets", "x86_64-linux", "lib"), "$" + var));
            }
        }
        out.add(new Folder(Path.of("/usr/local/cuda/lib64"), "CUDA install"));
        out.add(new Folder(Path.of("/usr/local/cuda/targets/x86_64-linux/lib"), "CUDA install"));
        for (Path p : expandGlob("/usr/local/cuda-*/lib64")) {
            out.add(new Folder(p, "CUDA install"));
        }
        for (String glob : extraGlobs) {
            for (Path p : expandGlob(glob)) {
                out.add(new Folder(p, "library-specific folder"));
            }
        }
        for (String dir : List.of("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib",
                "/usr/lib/wsl/lib")) {
            out.add(new Folder(Path.of(dir), "system library folder"));
        }
        String ld = env.apply("LD_LIBRARY_PATH");
        if (ld != null) {
            for (String dir : ld.split(":")) {
                if (!dir.isBlank()) {
                    out.add(new Folder(Path.of(dir), "LD_LIBRARY_PATH"));
                }
            }
        }
        for (Path p : linkerConfigFolders(Path.of("/etc/ld.so.conf"), new LinkedHashSet<>())) {
            out.add(new Folder(p, "/etc/ld.so.conf"));
        }
        for (Path p : pythonWheelLibFolders()) {
            out.add(new Folder(p, "NVIDIA Python wheel"));
        }
        Set<String> seen = new LinkedHashSet<>();
        List<Folder> unique = new ArrayList<>();
        for (Folder f : out) {
            Path norm = f.path().toAbsolutePath().normalize();
            if (norm.getFileName() != null && norm.getFileName().toString().equals("stubs")) {
                continue;
            }
            if (seen.add(norm.toString())) {
                unique.add(new Folder(norm, f.origin()));
            }
        }
        return unique;
    }

    /** Folders named in the dynamic linker's configuration, following {@code include} lines. */
    static List<Path> linkerConfigFolders(Path conf, Set<Path> visited) {
        List<Path> out = new ArrayList<>();
        if (!visited.add(conf) || !Files.isRegularFile(conf)) {
            return out;
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(conf);
        } catch (IOException | RuntimeException e) {
            return out;
        }
        for (String raw : lines) {
            String line = raw.replaceFirst("#.*", "").trim();
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("include ")) {
                String pattern = line.substring("include ".length()).trim();
                if (!pattern.startsWith("/")) {
                    pattern = conf.getParent().resolve(pattern).toString();
                }
                for (Path included : expandGlob(pattern)) {
                    out.addAll(linkerConfigFolders(included, visited));
                }
            } else if (line.startsWith("/")) {
                out.add(Path.of(line));
            }
        }
        return out;
    }

    /** {@code site-packages/nvidia/<package>/lib} folders of every Python installation found in the usual places. */
    List<Path> pythonWheelLibFolders() {
        List<Path> sitePackages = new ArrayList<>();
        String pythonPath = env.apply("PYTHONPATH");
        if (pythonPath != null) {
            for (String dir : pythonPath.split(":")) {
                if (!dir.isBlank()) {
                    sitePackages.add(Path.of(dir));
                }
            }
        }
        List<String> prefixes = new ArrayList<>();
        for (String var : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
            String v = env.apply(var);
            if (v != null && !v.isBlank()) {
                prefixes.add(v);
            }
        }
        String home = env.apply("HOME");
        if (home != null && !home.isBlank()) {
            prefixes.add(home + "/.local");
        }
        prefixes.addAll(List.of("/usr/local", "/usr", "/opt/conda"));
        for (String prefix : prefixes) {
            for (String lib : List.of("lib", "lib64")) {
                for (Path py : expandGlob(prefix + "/" + lib + "/python3*")) {
                    sitePackages.add(py.resolve("site-packages"));
                    sitePackages.add(py.resolve("dist-packages"));
                }
            }
        }
        sitePackages.add(Path.of("/usr/lib/python3/dist-packages"));
        List<Path> out = new ArrayList<>();
        for (Path site : sitePackages) {
            Path nvidia = site.resolve("nvidia");
            if (Files.isDirectory(nvidia)) {
                for (Path pkg : listSorted(nvidia)) {
                    if (Files.isDirectory(pkg.resolve("lib"))) {
                        out.add(pkg.resolve("lib"));
                    }
                }
            }
        }
        return out;
    }

    /**
     * Expands one {@code *} in the last or second-to-last path element ({@code /usr/local/cuda-*}{@code /lib64});
     * matches come newest version first (numbers compared as numbers), so {@code cuda-13.0} precedes {@code cuda-12.8}.
     */
    static List<Path> expandGlob(String pattern) {
        int star = pattern.indexOf('*');
        if (star < 0) {
            return List.of(Path.of(pattern));
        }
        int slashBefore = pattern.lastIndexOf('/', star);
        int slashAfter = pattern.indexOf('/', star);
        Path parent = Path.of(slashBefore <= 0 ? "/" : pattern.substring(0, slashBefore));
        String namePattern = pattern.substring(slashBefore + 1, slashAfter < 0 ? pattern.length() : slashAfter);
        String rest = slashAfter < 0 ? "" : pattern.substring(slashAfter + 1);
        Pattern regex = Pattern.compile(Pattern.quote(namePattern).replace("*", "\\E.*\\Q"));
        List<Path> out = new ArrayList<>();
        for (Path child : listSorted(parent)) {
            if (regex.matcher(child.getFileName().toString()).matches()) {
                out.add(rest.isEmpty() ? child : child.resolve(rest));
            }
        }
        out.sort(VERSION_DESCENDING);
        return out;
    }

    private static List<Path> listSorted(Path dir) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                out.add(p);
            }
        } catch (IOException | RuntimeException e) {
            return out;
        }
        out.sort(Comparator.comparing(Path::toString));
        return out;
    }

    private static final Pattern NUMBER = Pattern.compile("\\d+");

    /** Orders paths by the numbers in them, largest first, then by name. */
    static final Comparator<Path> VERSION_DESCENDING = (a, b) -> {
        List<Long> na = numbers(a.toString());
        List<Long> nb = numbers(b.toString());
        for (int i = 0; i < Math.min(na.size(), nb.size()); i++) {
            int c = Long.compare(nb.get(i), na.get(i));
            if (c != 0) {
                return c;
            }
        }
        int c = Integer.compare(nb.size(), na.size());
        return c != 0 ? c : a.toString().compareTo(b.toString());
    };

    private static List<Long> numbers(String s) {
        List<Long> out = new ArrayList<>();
        Matcher m = NUMBER.matcher(s);
        while (m.find()) {
            String digits = m.group();
            out.add(digits.length() > 18 ? Long.MAX_VALUE : Long.parseLong(digits));
        }
        return out;
    }
}
