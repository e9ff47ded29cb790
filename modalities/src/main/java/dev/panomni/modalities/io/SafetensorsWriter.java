package dev.panomni.modalities.io;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Layout;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * Writes safetensors files the way the reference library ({@code safetensors.torch.save_file})
 * does, byte for byte: tensors laid out by descending dtype (the Rust crate's dtype order, which
 * keeps every tensor aligned to its element size) then by name; the compact JSON header in that
 * same order after {@code __metadata__}; the header padded with spaces to a multiple of 8 bytes.
 *
 * <p>Every file is written atomically: to a temporary file in the same directory, forced to disk,
 * renamed over the target, then the directory is forced. A crash leaves the old file or the new
 * one, never a torn one. Sharded checkpoints follow Hugging Face's layout and shard assignment
 * ({@code model-00001-of-00003.safetensors} plus {@value SafetensorsCheckpoint#INDEX_FILE}).
 */
public final class SafetensorsWriter {
    private static final Pattern SHARD_NAME = Pattern.compile("model-\\d{5}-of-\\d{5}\\.safetensors");
    /** Bytes handed to one write call (ByteBuffers cannot exceed 2 GiB). */
    private static final long CHUNK = 64L << 20;

    private SafetensorsWriter() {
    }

    /**
     * Writes {@code tensors} to {@code file} atomically. Tensors may live on any device and be
     * strided; they are copied to contiguous host memory one at a time.
     *
     * @param metadata the {@code __metadata__} map (Hugging Face writes {@code {"format": "pt"}});
     *                 null or empty writes none
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        List<Map.Entry<String, Tensor>> ordered = layoutOrder(tensors);
        byte[] header = header(ordered, metadata);
        Path tmp = tempSibling(file);
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                writeFully(ch, prefix);
                writeFully(ch, ByteBuffer.wrap(header));
                for (Map.Entry<String, Tensor> e : ordered) {
                    writeTensor(ch, e.getValue());
                }
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        forceDirectory(file.toAbsolutePath().getParent());
    }

    /**
     * Writes a Hugging Face checkpoint into {@code dir}: {@value SafetensorsCheckpoint#SINGLE_FILE}
     * when everything fits one shard of {@code maxShardBytes}, else numbered shards and the index.
     * Tensors go to shards in {@code tensors}' iteration order; a shard is closed when the next
     * tensor would push it past {@code maxShardBytes}, and a tensor larger than that gets a shard
     * of its own (Hugging Face's rule). Shards are written before the index, so a reader never sees
     * an index naming a missing shard; stale shards of an earlier save are removed afterwards.
     *
     * @return the files written, index last
     */
    public static List<Path> writeSharded(Path dir, Map<String, Tensor> tensors, Map<String, String> metadata,
                                          long maxShardBytes) throws IOException {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        }
        Files.createDirectories(dir);
        List<Map<String, Tensor>> shards = assignShards(tensors, maxShardBytes);
        List<Path> written = new ArrayList<>();
        if (shards.size() <= 1) {
            Path single = dir.resolve(SafetensorsCheckpoint.SINGLE_FILE);
            write(single, shards.isEmpty() ? Map.of() : shards.get(0), metadata);
            written.add(single);
            Files.deleteIfExists(dir.resolve(SafetensorsCheckpoint.INDEX_FILE));
            removeStaleShards(dir, Set.of());
            return written;
        }
        Map<String, String> weightMap = new TreeMap<>();
        long total = 0;
        for (int i = 0; i < shards.size(); i++) {
            String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            Path p = dir.resolve(name);
            write(p, shards.get(i), metadata);
            written.add(p);
            for (Map.Entry<String, Tensor> e : shards.get(i).entrySet()) {
                weightMap.put(e.getKey(), name);
                total += byteSize(e.getValue());
            }
        }
        Path index = dir.resolve(SafetensorsCheckpoint.INDEX_FILE);
        writeAtomically(index, indexJson(total, weightMap).getBytes(StandardCharsets.UTF_8));
        written.add(index);
        Set<String> keep = Set.copyOf(weightMap.values());
        removeStaleShards(dir, keep);
        Files.deleteIfExists(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE));
        return written;
    }

    /** Hugging Face's shard assignment (see {@link #writeSharded}). */
    static List<Map<String, Tensor>> assignShards(Map<String, Tensor> tensors, long maxShardBytes) {
        List<Map<String, Tensor>> shards = new ArrayList<>();
        Map<String, Tensor> current = new LinkedHashMap<>();
        long currentBytes = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            long size = byteSize(e.getValue());
            if (size > maxShardBytes) {
                Map<String, Tensor> own = new LinkedHashMap<>();
                own.put(e.getKey(), e.getValue());
                shards.add(own);
                continue;
            }
            if (currentBytes + size > maxShardBytes) {
                shards.add(current);
                current = new LinkedHashMap<>();
                currentBytes = 0;
            }
            current.put(e.getKey(), e.getValue());
            currentBytes += size;
        }
        if (!current.isEmpty()) {
            shards.add(current);
        }
        return shards;
    }

    /** The padded JSON header for {@code ordered} tensors (without the 8-byte length). */
    static byte[] header(List<Map.Entry<String, Tensor>> ordered, Map<String, String> metadata) {
        StringBuilder sb = new StringBuilder("{");
        boolean first = true;
        if (metadata != null && !metadata.isEmpty()) {
            sb.append("\"__metadata__\":{");
            boolean firstMeta = true;
            for (Map.Entry<String, String> m : new TreeMap<>(metadata).entrySet()) {
                if (!firstMeta) {
                    sb.append(',');
                }
                firstMeta = false;
                appendJsonString(sb, m.getKey());
                sb.append(':');
                appendJsonString(sb, m.getValue());
            }
            sb.append('}');
            first = false;
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : ordered) {
            Tensor t = e.getValue();
            long size = byteSize(t);
            if (!first) {
                sb.append(',');
            }
            first = false;
            appendJsonString(sb, e.getKey());
            sb.append(":{\"dtype\":\"").append(t.dtype().safetensorsName()).append("\",\"shape\":[");
            long[] shape = t.shape();
            for (int i = 0; i < shape.length; i++) {
                sb.append(i > 0 ? "," : "").append(shape[i]);
            }
            sb.append("],\"data_offsets\":[").append(offset).append(',').append(offset + size).append("]}");
            offset += size;
        }
        sb.append('}');
        byte[] json = sb.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    /** Descending dtype in the Rust crate's order, then name by UTF-8 bytes. */
    static List<Map.Entry<String, Tensor>> layoutOrder(Map<String, Tensor> tensors) {
        List<Map.Entry<String, Tensor>> list = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getKey().equals("__metadata__")) {
                throw new IllegalArgumentException("'__metadata__' is reserved and cannot name a tensor");
            }
            e.getValue().checkLive();
            list.add(Map.entry(e.getKey(), e.getValue()));
        }
        Comparator<Map.Entry<String, Tensor>> byDtype = Comparator.comparingInt(e -> -rustDtypeRank(e.getValue().dtype()));
        list.sort(byDtype.thenComparing((a, b) -> Arrays.compareUnsigned(
                a.getKey().getBytes(StandardCharsets.UTF_8), b.getKey().getBytes(StandardCharsets.UTF_8))));
        return list;
    }

    /** Position in the safetensors crate's {@code Dtype} enum, which is ordered by alignment. */
    private static int rustDtypeRank(DType d) {
        return switch (d) {
            case BOOL -> 0;
            case U8 -> 1;
            case F16 -> 7;
            case BF16 -> 8;
            case I32 -> 9;
            case F32 -> 11;
            case I64 -> 13;
        };
    }

    private static long byteSize(Tensor t) {
        return t.numel() * t.dtype().byteSize();
    }

    private static void writeTensor(FileChannel ch, Tensor t) throws IOException {
        long size = byteSize(t);
        if (size == 0) {
            return;
        }
        if (t.device().equals(Device.CPU) && t.isContiguous()) {
            writeSegment(ch, t.data().asSlice(0, size));
            return;
        }
        try (Scope s = Scope.open("safetensors-write")) {
            Tensor host = GradMode.noGrad(() -> Layout.toDevice(t, Device.CPU).contiguous());
            writeSegment(ch, host.data().asSlice(0, size));
        }
    }

    private static void writeSegment(FileChannel ch, MemorySegment seg) throws IOException {
        for (long pos = 0; pos < seg.byteSize(); pos += CHUNK) {
            writeFully(ch, seg.asSlice(pos, Math.min(CHUNK, seg.byteSize() - pos)).asByteBuffer());
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    /** Writes {@code bytes} to {@code file} through a forced temporary file and an atomic rename. */
    static void writeAtomically(Path file, byte[] bytes) throws IOException {
        Path tmp = tempSibling(file);
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                writeFully(ch, ByteBuffer.wrap(bytes));
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        forceDirectory(file.toAbsolutePath().getParent());
    }

    private static Path tempSibling(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + file.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
            try {
                Files.newByteChannel(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
                return tmp;
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (attempt > 8) {
                    throw e;
                }
            }
        }
    }

    /** Makes a rename durable; file systems that cannot open directories (Windows) are skipped. */
    private static void forceDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // Not supported on this platform: the rename is still atomic, only its durability is weaker.
        }
    }

    private static void removeStaleShards(Path dir, Set<String> keep) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (SHARD_NAME.matcher(n).matches() && !keep.contains(n)) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** The index as transformers writes it: {@code json.dumps(index, indent=2, sort_keys=True) + "\n"}. */
    static String indexJson(long totalSize, Map<String, String> weightMap) {
        StringBuilder sb = new StringBuilder();
        sb.append("{\n  \"metadata\": {\n    \"total_size\": ").append(totalSize).append("\n  },\n  \"weight_map\": {");
        boolean first = true;
        for (Map.Entry<String, String> e : new TreeMap<>(weightMap).entrySet()) {
            sb.append(first ? "\n    " : ",\n    ");
            first = false;
            appendPythonAsciiJsonString(sb, e.getKey());
            sb.append(": ");
            appendPythonAsciiJsonString(sb, e.getValue());
        }
        sb.append(first ? "}" : "\n  }").append("\n}\n");
        return sb.toString();
    }

    /** JSON string escaping of serde_json: short escapes, other controls as lowercase \\u00xx, UTF-8 otherwise. */
    private static void appendJsonString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /** JSON string escaping of Python's json.dumps with ensure_ascii=True. */
    private static void appendPythonAsciiJsonString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
