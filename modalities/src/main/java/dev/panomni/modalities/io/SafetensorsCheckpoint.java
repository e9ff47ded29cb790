package dev.panomni.modalities.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A checkpoint in the Hugging Face layout: one {@code model.safetensors}, or shards listed by
 * {@code model.safetensors.index.json} ({@code {"metadata": {...}, "weight_map": {name: file}}}).
 * Every shard is memory-mapped and validated on open; a name resolves to its shard through the
 * weight map. Close the checkpoint to unmap the shards (views keep their own mapping alive; see
 * {@link SafetensorsFile}).
 */
public final class SafetensorsCheckpoint implements AutoCloseable {
    /** File name of the sharded index that Hugging Face writes. */
    public static final String INDEX_FILE = "model.safetensors.index.json";
    /** File name of an unsharded Hugging Face checkpoint. */
    public static final String SINGLE_FILE = "model.safetensors";

    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path source;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> fileOf;
    private final Map<String, String> metadata;

    private SafetensorsCheckpoint(Path source, List<SafetensorsFile> files, Map<String, SafetensorsFile> fileOf,
                                  Map<String, String> metadata) {
        this.source = source;
        this.files = List.copyOf(files);
        this.fileOf = Collections.unmodifiableMap(fileOf);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /**
     * Opens a checkpoint: a {@code .safetensors} file, an {@code .index.json} file, or a directory
     * holding {@value #INDEX_FILE} or {@value #SINGLE_FILE} (or exactly one index or one
     * safetensors file under another name).
     */
    public static SafetensorsCheckpoint open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            return open(locate(path));
        }
        if (!Files.exists(path)) {
            throw new java.nio.file.NoSuchFileException(path.toString(), null, "no safetensors checkpoint here");
        }
        if (path.getFileName().toString().endsWith(".index.json")) {
            return openSharded(path);
        }
        SafetensorsFile f = SafetensorsFile.open(path);
        Map<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
        for (String n : f.names()) {
            fileOf.put(n, f);
        }
        return new SafetensorsCheckpoint(path, List.of(f), fileOf, f.metadata());
    }

    private static Path locate(Path dir) throws IOException {
        if (Files.isRegularFile(dir.resolve(INDEX_FILE))) {
            return dir.resolve(INDEX_FILE);
        }
        if (Files.isRegularFile(dir.resolve(SINGLE_FILE))) {
            return dir.resolve(SINGLE_FILE);
        }
        List<Path> indexes = new ArrayList<>();
        List<Path> singles = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (n.endsWith(".safetensors.index.json")) {
                    indexes.add(p);
                } else if (n.endsWith(".safetensors")) {
                    singles.add(p);
                }
            }
        }
        if (indexes.size() == 1) {
            return indexes.get(0);
        }
        if (indexes.isEmpty() && singles.size() == 1) {
            return singles.get(0);
        }
        throw new IOException(dir + ": cannot tell which checkpoint to load: expected " + INDEX_FILE + " or "
                + SINGLE_FILE + ", found indexes " + names(indexes) + " and files " + names(singles)
                + "; pass the file itself");
    }

    private static List<String> names(List<Path> paths) {
        return paths.stream().map(p -> p.getFileName().toString()).sorted().toList();
    }

    private static SafetensorsCheckpoint openSharded(Path index) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(index));
        } catch (JsonProcessingException e) {
            throw new SafetensorsFormatException(index, null, "index is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject() || !root.path("weight_map").isObject()) {
            throw new SafetensorsFormatException(index, null, "index has no \"weight_map\" object");
        }
        Map<String, String> metadata = new TreeMap<>();
        JsonNode meta = root.path("metadata");
        if (meta.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = meta.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                metadata.put(e.getKey(), e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString());
            }
        }
        Path dir = index.toAbsolutePath().getParent();
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
        try {
            for (Iterator<Map.Entry<String, JsonNode>> it = root.get("weight_map").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String tensor = e.getKey();
                if (!e.getValue().isTextual()) {
                    throw new SafetensorsFormatException(index, tensor, "weight_map value must be a file name, got " + e.getValue());
                }
                String shardName = e.getValue().asText();
                Path shardPath = dir.resolve(shardName).normalize();
                if (Path.of(shardName).isAbsolute() || !shardPath.startsWith(dir)) {
                    throw new SafetensorsFormatException(index, tensor, "shard '" + shardName + "' lies outside " + dir);
                }
                SafetensorsFile shard = shards.get(shardName);
                if (shard == null) {
                    if (!Files.isRegularFile(shardPath)) {
                        throw new SafetensorsFormatException(index, tensor, "shard '" + shardName + "' does not exist in " + dir);
                    }
                    shard = SafetensorsFile.open(shardPath);
                    shards.put(shardName, shard);
                }
                if (!shard.contains(tensor)) {
                    throw new SafetensorsFormatException(index, tensor, "the index maps it to shard '" + shardName
                            + "', which holds no such tensor");
                }
                fileOf.put(tensor, shard);
            }
        } catch (IOException | RuntimeException ex) {
            shards.values().forEach(SafetensorsFile::close);
            throw ex;
        }
        return new SafetensorsCheckpoint(index, new ArrayList<>(shards.values()), fileOf, metadata);
    }

    /** The file or index this checkpoint was opened from. */
    public Path source() {
        return source;
    }

    /** The open files (one, or one per shard). */
    public List<SafetensorsFile> files() {
        return files;
    }

    /** The index's {@code metadata} (sharded) or the file's {@code __metadata__} (single file). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Tensor names: weight-map order for sharded checkpoints, data order for one file. */
    public List<String> names() {
        return new ArrayList<>(fileOf.keySet());
    }

    public boolean contains(String name) {
        return fileOf.containsKey(name);
    }

    /** The file that holds {@code name}. */
    public SafetensorsFile fileOf(String name) {
        SafetensorsFile f = fileOf.get(name);
        if (f == null) {
            throw new IllegalArgumentException(source + ": no tensor '" + name + "' (the checkpoint holds "
                    + fileOf.size() + " tensors)");
        }
        return f;
    }

    public SafetensorsEntry entry(String name) {
        return fileOf(name).entry(name);
    }

    /** See {@link SafetensorsFile#bytes}. */
    public MemorySegment bytes(String name) {
        return fileOf(name).bytes(name);
    }

    /** See {@link SafetensorsFile#load(String, Device)}. */
    public Tensor load(String name, Device device) {
        return fileOf(name).load(name, device);
    }

    /** {@code name} copied into a new host tensor. */
    public Tensor load(String name) {
        return load(name, Device.CPU);
    }

    /** See {@link SafetensorsFile#view}. */
    public Tensor view(String name) {
        return fileOf(name).view(name);
    }

    /** See {@link SafetensorsFile#copyInto}. */
    public void copyInto(String name, Tensor dst, long dstByteOffset) {
        fileOf(name).copyInto(name, dst, dstByteOffset);
    }

    @Override
    public void close() {
        for (SafetensorsFile f : files) {
            f.close();
        }
    }

    @Override
    public String toString() {
        return "SafetensorsCheckpoint[" + source + ", " + files.size() + " files, " + fileOf.size() + " tensors]";
    }
}
