package dev.panomni.trainer.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes, finds, prunes and opens checkpoints under one directory:
 *
 * <pre>
 * dir/
 *   latest                 "step-000300": the checkpoint saved last (replaced atomically)
 *   step-000200/           model.safetensors, optimizer.safetensors, state.json, config.yaml, manifest.json
 *   step-000300/
 *   .tmp-step-000400-...   a save in progress, or one killed midway: ignored, deleted by the next manager
 * </pre>
 *
 * <p>A save writes everything into a temporary directory, fsyncs each file and the directory,
 * renames it to {@code step-NNNNNN} (atomic), fsyncs the parent, then replaces {@code latest}
 * atomically and prunes to the last {@code keepLast}. A crash at any point leaves the previous
 * checkpoint complete and still found as the latest. Only rank 0 should save.
 */
public final class CheckpointManager {
    public static final String MODEL_FILE = "model.safetensors";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String STATE_FILE = "state.json";
    public static final String CONFIG_FILE = "config.yaml";
    public static final String MANIFEST_FILE = "manifest.json";
    public static final String LATEST_FILE = "latest";

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Pattern STEP_DIR = Pattern.compile("step-(\\d{6,})");
    private static final Pattern OLD_DIR = Pattern.compile("\\.old-(step-\\d{6,})-.*");

    private final Path root;
    private final int keepLast;
    private final TensorStore store;

    /**
     * @param root     the checkpoint directory (created on the first save)
     * @param keepLast complete checkpoints to keep (>= 1)
     * @param store    how tensor files are written and read
     */
    public CheckpointManager(Path root, int keepLast, TensorStore store) {
        if (keepLast < 1) {
            throw new IllegalArgumentException("keepLast must be >= 1, got " + keepLast);
        }
        this.root = root;
        this.keepLast = keepLast;
        this.store = store;
    }

    public Path root() {
        return root;
    }

    /** The directory name of step {@code step}: {@code step-000123}. */
    public static String dirName(long step) {
        return String.format("step-%06d", step);
    }

    /**
     * Saves atomically, points {@code latest} at it, and prunes older checkpoints.
     *
     * @return the new checkpoint directory
     * @throws CheckpointException when writing fails; the previous checkpoints are untouched
     */
    public Path save(Checkpoint c) {
        Path target = root.resolve(dirName(c.step()));
        Path tmp = root.resolve(".tmp-" + dirName(c.step()) + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        try {
            Files.createDirectories(root);
            Files.createDirectory(tmp);
            Map<String, Long> sizes = new LinkedHashMap<>();
            writeTensors(c.model(), tmp.resolve(MODEL_FILE), sizes);
            writeTensors(c.optimizer() == null ? Map.of() : c.optimizer(), tmp.resolve(OPTIMIZER_FILE), sizes);
            writeFile(tmp.resolve(STATE_FILE), JSON.writeValueAsBytes(c.state()), sizes);
            if (c.configYaml() != null) {
                writeFile(tmp.resolve(CONFIG_FILE), c.configYaml().getBytes(StandardCharsets.UTF_8), sizes);
            }
            CheckpointManifest manifest = new CheckpointManifest(CheckpointManifest.FORMAT, CheckpointManifest.VERSION,
                    c.step(), sizes);
            Path manifestFile = tmp.resolve(MANIFEST_FILE);
            Files.write(manifestFile, JSON.writeValueAsBytes(manifest));
            Durable.fsyncFile(manifestFile);
            Durable.fsyncDirectory(tmp);
            install(tmp, target);
            Durable.writeAtomically(root.resolve(LATEST_FILE), (target.getFileName() + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            try {
                Durable.deleteTree(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new CheckpointException("saving checkpoint step " + c.step() + " to " + target + " failed: " + e
                    + "; the previous checkpoint is intact", e);
        }
        prune(target);
        return target;
    }

    private void writeTensors(Map<String, dev.panomni.tensor.Tensor> tensors, Path file, Map<String, Long> sizes)
            throws IOException {
        store.write(tensors, file);
        Durable.fsyncFile(file);
        sizes.put(file.getFileName().toString(), Files.size(file));
    }

    private static void writeFile(Path file, byte[] content, Map<String, Long> sizes) throws IOException {
        Files.write(file, content);
        Durable.fsyncFile(file);
        sizes.put(file.getFileName().toString(), (long) content.length);
    }

    /** Renames the finished temporary directory into place, replacing a checkpoint of the same step. */
    private void install(Path tmp, Path target) throws IOException {
        Path old = null;
        if (Files.exists(target)) {
            // Saving a step that already exists (after a resume): set the old one aside first, so a
            // crash in between leaves it recoverable (cleanTemporary moves it back).
            old = root.resolve(".old-" + target.getFileName() + "-" + System.nanoTime());
            Durable.move(target, old);
        }
        Durable.move(tmp, target);
        Durable.fsyncDirectory(root);
        if (old != null) {
            Durable.deleteTree(old);
        }
    }

    /** Deletes all but the newest {@code keepLast} complete checkpoints; never {@code justSaved}. */
    private void prune(Path justSaved) {
        List<Path> valid = completeCheckpoints();
        int excess = valid.size() - keepLast;
        for (int i = 0; i < excess; i++) {
            Path p = valid.get(i);
            if (p.equals(justSaved)) {
                continue;
            }
            try {
                Durable.deleteTree(p);
            } catch (IOException e) {
                System.err.println("checkpoint: could not delete old checkpoint " + p + ": " + e.getMessage());
            }
        }
    }

    /**
     * Deletes what interrupted saves left behind ({@code .tmp-*} directories) and moves back a
     * checkpoint set aside by an interrupted re-save. Call once at startup, before saving.
     *
     * @return the number of directories deleted or recovered
     */
    public int cleanTemporary() {
        if (!Files.isDirectory(root)) {
            return 0;
        }
        int n = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                Matcher old = OLD_DIR.matcher(name);
                if (name.startsWith(".tmp-")) {
                    Durable.deleteTree(p);
                    n++;
                } else if (old.matches()) {
                    Path original = root.resolve(old.group(1));
                    if (Files.exists(original)) {
                        Durable.deleteTree(p);
                    } else {
                        Durable.move(p, original);
                    }
                    n++;
                }
            }
        } catch (IOException e) {
            throw new CheckpointException("cleaning interrupted saves in " + root + " failed: " + e.getMessage(), e);
        }
        return n;
    }

    /** Complete, valid checkpoints, oldest first. */
    public List<Path> completeCheckpoints() {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            for (Path p : ds) {
                if (STEP_DIR.matcher(p.getFileName().toString()).matches() && problemWith(p) == null) {
                    out.add(p);
                }
            }
        } catch (IOException e) {
            throw new CheckpointException("listing checkpoints in " + root + " failed: " + e.getMessage(), e);
        }
        out.sort(Comparator.comparingLong(CheckpointManager::stepOf));
        return out;
    }

    /**
     * The checkpoint to resume from: the one {@code latest} names when it is complete (after a
     * resume from an older step, the newest save is not the highest step), else the highest
     * complete step (a crash between installing a checkpoint and updating the pointer).
     */
    public Optional<Path> latest() {
        Path pointer = root.resolve(LATEST_FILE);
        if (Files.isRegularFile(pointer)) {
            try {
                String name = Files.readString(pointer).trim();
                if (STEP_DIR.matcher(name).matches() && problemWith(root.resolve(name)) == null) {
                    return Optional.of(root.resolve(name));
                }
            } catch (IOException e) {
                // fall back to the directories
            }
        }
        List<Path> all = completeCheckpoints();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    /**
     * Where to resume from, per {@code checkpoint.resume}: {@code auto} (the latest complete one,
     * or none), {@code never}, or a path (a checkpoint directory, or a checkpoint root whose latest
     * is taken).
     *
     * @throws CheckpointException when a given path is not a complete checkpoint
     */
    public Optional<Path> resolveResume(String resume) {
        if ("never".equals(resume)) {
            return Optional.empty();
        }
        if ("auto".equals(resume)) {
            return latest();
        }
        Path p = Path.of(resume);
        if (!Files.isDirectory(p)) {
            throw new CheckpointException("checkpoint.resume: " + p + " is not a directory; give a checkpoint "
                    + "directory (step-NNNNNN), a checkpoint root, 'auto' or 'never'");
        }
        if (!STEP_DIR.matcher(p.getFileName().toString()).matches() && !Files.exists(p.resolve(MANIFEST_FILE))) {
            Optional<Path> inner = new CheckpointManager(p, keepLast, store).latest();
            if (inner.isEmpty()) {
                throw new CheckpointException("checkpoint.resume: " + p + " holds no complete checkpoint");
            }
            return inner;
        }
        String problem = problemWith(p);
        if (problem != null) {
            throw new CheckpointException("checkpoint.resume: " + p + " is not a complete checkpoint: " + problem);
        }
        return Optional.of(p);
    }

    /** Why {@code dir} is not a complete checkpoint, or null when it is. */
    public String problemWith(Path dir) {
        Path manifestFile = dir.resolve(MANIFEST_FILE);
        if (!Files.isRegularFile(manifestFile)) {
            return "no " + MANIFEST_FILE + " (the save did not finish)";
        }
        CheckpointManifest m;
        try {
            m = JSON.readValue(manifestFile.toFile(), CheckpointManifest.class);
        } catch (IOException e) {
            return MANIFEST_FILE + " is unreadable: " + e.getMessage();
        }
        if (!CheckpointManifest.FORMAT.equals(m.format())) {
            return MANIFEST_FILE + " has format '" + m.format() + "', expected '" + CheckpointManifest.FORMAT + "'";
        }
        Matcher mm = STEP_DIR.matcher(dir.getFileName().toString());
        if (mm.matches() && Long.parseLong(mm.group(1)) != m.step()) {
            return "the directory is named for step " + Long.parseLong(mm.group(1)) + " but holds step " + m.step();
        }
        for (String required : List.of(MODEL_FILE, STATE_FILE)) {
            if (!m.files().containsKey(required)) {
                return MANIFEST_FILE + " does not list " + required;
            }
        }
        for (Map.Entry<String, Long> f : m.files().entrySet()) {
            Path file = dir.resolve(f.getKey());
            try {
                long size = Files.size(file);
                if (size != f.getValue()) {
                    return f.getKey() + " has " + size + " bytes, the manifest says " + f.getValue();
                }
            } catch (IOException e) {
                return f.getKey() + " is missing or unreadable";
            }
        }
        return null;
    }

    /** Opens a complete checkpoint for reading. */
    public LoadedCheckpoint open(Path dir) {
        String problem = problemWith(dir);
        if (problem != null) {
            throw new CheckpointException(dir + " is not a complete checkpoint: " + problem);
        }
        try {
            TrainingState state = JSON.readValue(dir.resolve(STATE_FILE).toFile(), TrainingState.class);
            Path config = dir.resolve(CONFIG_FILE);
            String yaml = Files.exists(config) ? Files.readString(config) : null;
            return new LoadedCheckpoint(dir, state, yaml, store);
        } catch (IOException e) {
            throw new CheckpointException("reading " + dir.resolve(STATE_FILE) + " failed: " + e.getMessage(), e);
        }
    }

    private static long stepOf(Path p) {
        Matcher m = STEP_DIR.matcher(p.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }
}
