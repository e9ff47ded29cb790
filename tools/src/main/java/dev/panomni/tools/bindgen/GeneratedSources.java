package dev.panomni.tools.bindgen;

import dev.panomni.tools.bindgen.emit.Emitter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writing generated sources, and checking committed ones: a generated file is recognised by its first line (which
 * names its allow-list), so hand-written helpers in the same package are never touched and stale generated files
 * are found.
 */
public final class GeneratedSources {
    private GeneratedSources() {}

    /**
     * Writes {@code files} under {@code root} and deletes generated files of the same packages that are no longer
     * produced. Returns the paths written.
     */
    public static List<Path> write(Path root, Map<String, String> files, String allowId) {
        List<Path> written = new ArrayList<>();
        try {
            for (Path stale : stale(root, files, allowId)) {
                Files.delete(stale);
            }
            for (Map.Entry<String, String> e : files.entrySet()) {
                Path p = root.resolve(e.getKey());
                Files.createDirectories(p.getParent());
                if (!Files.exists(p) || !Files.readString(p, StandardCharsets.UTF_8).equals(e.getValue())) {
                    Files.writeString(p, e.getValue(), StandardCharsets.UTF_8);
                }
                written.add(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return written;
    }

    /** Differences between {@code files} and what is under {@code root}: one line per file, empty when equal. */
    public static List<String> compare(Path root, Map<String, String> files, String allowId) {
        List<String> diffs = new ArrayList<>();
        try {
            for (Map.Entry<String, String> e : files.entrySet()) {
                Path p = root.resolve(e.getKey());
                if (!Files.exists(p)) {
                    diffs.add(e.getKey() + ": missing (would be generated)");
                    continue;
                }
                String committed = Files.readString(p, StandardCharsets.UTF_8);
                if (!committed.equals(e.getValue())) {
                    diffs.add(e.getKey() + ": differs, " + firstDifference(committed, e.getValue()));
                }
            }
            for (Path stale : stale(root, files, allowId)) {
                diffs.add(root.relativize(stale) + ": generated earlier but no longer produced");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return diffs;
    }

    private static List<Path> stale(Path root, Map<String, String> files, String allowId) throws IOException {
        List<Path> out = new ArrayList<>();
        List<String> dirs = files.keySet().stream().map(k -> k.substring(0, k.lastIndexOf('/'))).distinct().toList();
        for (String dir : dirs) {
            Path d = root.resolve(dir);
            if (!Files.isDirectory(d)) {
                continue;
            }
            try (Stream<Path> s = Files.list(d)) {
                for (Path p : s.filter(x -> x.toString().endsWith(".java")).sorted().toList()) {
                    String rel = root.relativize(p).toString().replace('\\', '/');
                    if (!files.containsKey(rel) && isGenerated(p, allowId)) {
                        out.add(p);
                    }
                }
            }
        }
        return out;
    }

    /** True when {@code p} was generated from the allow-list {@code allowId} (its first line says so). */
    static boolean isGenerated(Path p, String allowId) throws IOException {
        try (var r = Files.newBufferedReader(p, StandardCharsets.UTF_8)) {
            String first = r.readLine();
            return first != null && first.startsWith(Emitter.MARKER)
                    && first.contains("(allow-list " + allowId + ".allow)");
        }
    }

    private static String firstDifference(String a, String b) {
        String[] la = a.split("\n", -1);
        String[] lb = b.split("\n", -1);
        for (int i = 0; i < Math.max(la.length, lb.length); i++) {
            String x = i < la.length ? la[i] : "<end of file>";
            String y = i < lb.length ? lb[i] : "<end of file>";
            if (!x.equals(y)) {
                return "first at line " + (i + 1) + ": committed '" + x.strip() + "', generated '" + y.strip() + "'";
            }
        }
        return "line endings differ";
    }
}
