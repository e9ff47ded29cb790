package dev.panomni.kernels;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The committed PTX (src/main/resources/dev/panomni/kernels/ptx) is what kernels/cuda/*.cu compile
 * to now: byte for byte, header included (nvcc writes no paths or dates into PTX, only its own
 * version). Uses the build's fresh output in target/generated-ptx when it is newer than every
 * source, else runs build-ptx.sh itself. Skipped, with a notice, where nvcc is not installed.
 */
class PtxFreshnessTest {
    private static final String FIX = "regenerate with: kernels/build-ptx.sh kernels/src/main/resources/dev/panomni/kernels/ptx";

    @Test
    void committedPtxMatchesTheSources() throws Exception {
        Path module = Path.of(System.getProperty("basedir", ".")).toAbsolutePath();
        Path script = module.resolve("build-ptx.sh");
        Path sources = module.resolve("cuda");
        Path committed = module.resolve("src/main/resources/dev/panomni/kernels/ptx");
        Assumptions.assumeTrue(Files.isRegularFile(script), "not run from the kernels module folder");
        if (findNvcc().isEmpty()) {
            System.err.println("SKIPPED PtxFreshnessTest: nvcc not found (PATH, /usr/local/cuda/bin); the committed PTX "
                    + "is used unchecked");
            Assumptions.abort("nvcc not found");
        }
        Path fresh = module.resolve("target/generated-ptx");
        if (!isNewerThanSources(fresh, sources, script)) {
            fresh = Files.createTempDirectory("panomni-ptx");
            Process p = new ProcessBuilder("bash", script.toString(), fresh.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(10, TimeUnit.MINUTES), "build-ptx.sh timed out");
            assertTrue(p.exitValue() == 0, "build-ptx.sh failed:\n" + out);
        }
        TreeSet<String> names = new TreeSet<>(ptxNames(committed));
        names.addAll(ptxNames(fresh));
        List<String> problems = new ArrayList<>();
        for (String name : names) {
            Path c = committed.resolve(name);
            Path f = fresh.resolve(name);
            if (!Files.exists(c)) {
                problems.add(name + ": built from the sources but not committed");
            } else if (!Files.exists(f)) {
                problems.add(name + ": committed but no longer built from any source (delete it)");
            } else if (Files.mismatch(c, f) != -1) {
                String cv = compilerLine(c);
                String fv = compilerLine(f);
                problems.add(name + ": differs from a fresh build" + (cv.equals(fv) ? ""
                        : " (committed by '" + cv + "', this nvcc is '" + fv + "')"));
            }
        }
        if (!problems.isEmpty()) {
            fail("committed PTX is out of step with kernels/cuda:\n  " + String.join("\n  ", problems) + "\n" + FIX);
        }
    }

    private static Optional<Path> findNvcc() {
        List<Path> candidates = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(java.io.File.pathSeparator)) {
                candidates.add(Path.of(dir, "nvcc"));
            }
        }
        candidates.add(Path.of("/usr/local/cuda/bin/nvcc"));
        return candidates.stream().filter(Files::isExecutable).findFirst();
    }

    private static boolean isNewerThanSources(Path built, Path sources, Path script) throws IOException {
        if (!Files.isDirectory(built) || ptxNames(built).isEmpty()) {
            return false;
        }
        FileTime oldestOutput;
        try (Stream<Path> s = Files.list(built)) {
            oldestOutput = s.map(PtxFreshnessTest::modified).min(FileTime::compareTo).orElseThrow();
        }
        FileTime newestInput = modified(script);
        try (Stream<Path> s = Files.list(sources)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                FileTime t = modified(p);
                if (t.compareTo(newestInput) > 0) {
                    newestInput = t;
                }
            }
        }
        return oldestOutput.compareTo(newestInput) >= 0;
    }

    private static FileTime modified(Path p) {
        try {
            return Files.getLastModifiedTime(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<String> ptxNames(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".ptx")).sorted().toList();
        }
    }

    private static String compilerLine(Path ptx) throws IOException {
        try (Stream<String> lines = Files.lines(ptx)) {
            return lines.limit(10).filter(l -> l.startsWith("// Cuda compilation tools")).map(l -> l.substring(3))
                    .findFirst().orElse("?");
        }
    }
}
