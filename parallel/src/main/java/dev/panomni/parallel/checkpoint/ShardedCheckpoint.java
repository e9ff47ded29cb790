package dev.panomni.parallel.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panomni.parallel.engine.ParallelModel;
import dev.panomni.parallel.engine.ShardLayout;
import dev.panomni.parallel.engine.ShardedParameter;
import dev.panomni.parallel.mesh.DeviceMesh;
import dev.panomni.parallel.mesh.MeshDim;
import dev.panomni.parallel.mesh.MeshShape;
import dev.panomni.parallel.plan.Placement;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.HostElements;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Layout;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Sharded checkpoints: every rank writes the rows it owns, with metadata saying where they sit in
 * the global tensors, and any world size or mesh can load them back (resharding by rows).
 *
 * <p>Layout of a checkpoint folder:
 * <ul>
 *   <li>{@code rank-NNNNN.bin}: raw little-endian F32 rows, block after block;</li>
 *   <li>{@code rank-NNNNN.json}: that rank's blocks ({@code tensor}, {@code globalShape},
 *       {@code rowStart}, {@code rows}, {@code offset} in bytes) and, on rank 0, the scalars
 *       (optimizer step counts);</li>
 *   <li>{@code checkpoint.json}, written by rank 0 last, after every rank has finished: the format,
 *       the mesh, the world size and every tensor's global shape. A folder without it is an
 *       incomplete save and is refused.</li>
 * </ul>
 * Each row of each tensor is written exactly once: HSDP replicas other than the first and ranks
 * holding only padding write nothing for it. Files are written under temporary names and moved
 * into place, so a crash leaves no half-written file under a final name.
 *
 * <p>Tensors saved: the model's parameters (the engine's F32 master shards) and optimizer state
 * whose keys are {@code <parameter>.<slot>} with the shard's shape (sharded like the parameter);
 * other one-element optimizer entries are saved as scalars.
 */
public final class ShardedCheckpoint {
    /** The file whose presence marks a complete checkpoint. */
    public static final String INDEX = "checkpoint.json";
    /** Format tag in {@link #INDEX}. */
    public static final String FORMAT = "panomni-sharded-v1";

    private static final ObjectMapper JSON = new ObjectMapper();

    private ShardedCheckpoint() {
    }

    /** Rows {@code [rowStart, rowStart + rows)} of {@code tensor} stored at byte {@code offset} of {@code file}. */
    record Block(String tensor, long[] globalShape, long rowStart, long rows, String file, long offset) {
        long rowElements() {
            long n = 1;
            for (int i = 1; i < globalShape.length; i++) {
                n *= globalShape[i];
            }
            return n;
        }
    }

    // ---------------------------------------------------------------- save

    /**
     * Saves this rank's shards of {@code engine}'s parameters and of {@code optimizerState} (an
     * optimizer's {@code stateDict()} over {@code engine.parameters()}, or an empty map) into
     * {@code dir}. A collective: every rank of the engine's mesh calls it.
     */
    public static void save(Path dir, ParallelModel engine, Map<String, Tensor> optimizerState) throws IOException {
        DeviceMesh mesh = engine.mesh();
        int rank = mesh.rank();
        Files.createDirectories(dir);
        String bin = String.format("rank-%05d.bin", rank);
        List<Object[]> toWrite = new ArrayList<>();      // {name, tensor (shard), layout}
        Map<String, ShardedParameter> params = engine.shardedParameters();
        ObjectNode scalars = JSON.createObjectNode();
        for (ShardedParameter p : params.values()) {
            if (!writes(p, mesh)) {
                continue;
            }
            toWrite.add(new Object[] {p.name(), p.shard(), p.layout()});
        }
        for (Map.Entry<String, Tensor> e : optimizerState.entrySet()) {
            ShardedParameter owner = ownerOf(e.getKey(), params);
            Tensor t = e.getValue();
            if (owner != null && Arrays.equals(t.shape(), owner.layout().shardShape())) {
                if (writes(owner, mesh)) {
                    toWrite.add(new Object[] {e.getKey(), t, owner.layout()});
                }
            } else if (t.numel() == 1) {
                if (rank == 0) {
                    ObjectNode s = scalars.putObject(e.getKey());
                    s.put("dtype", t.dtype().name());
                    s.put("value", t.dtype().isFloating() ? Double.toString(t.item())
                            : Long.toString(HostElements.getLong(hostCopy(t).data(), t.dtype(), 0)));
                }
            } else {
                throw new IllegalArgumentException("sharded checkpoint: optimizer entry '" + e.getKey() + "' "
                        + t.describe() + " is neither shaped like its parameter's shard nor a scalar");
            }
        }
        ArrayNode blocks = JSON.createArrayNode();
        Path binTmp = dir.resolve(bin + ".tmp");
        try (FileChannel ch = FileChannel.open(binTmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING); Scope s = Scope.open("checkpoint.save")) {
            long offset = 0;
            for (Object[] w : toWrite) {
                String name = (String) w[0];
                ShardLayout l = (ShardLayout) w[2];
                long rows = l.validRows();
                if (rows == 0) {
                    continue;
                }
                Tensor host = hostCopy(GradMode.noGrad(() -> Layout.cast(((Tensor) w[1]).narrow(0, 0, rows), DType.F32)));
                long bytes = host.numel() * Float.BYTES;
                var buf = host.data().asSlice(0, bytes).asByteBuffer();
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ObjectNode b = blocks.addObject();
                b.put("tensor", name);
                ArrayNode shape = b.putArray("globalShape");
                for (long d : l.globalShape()) {
                    shape.add(d);
                }
                b.put("rowStart", l.globalRowStart());
                b.put("rows", rows);
                b.put("offset", offset);
                offset += bytes;
            }
            ch.force(true);
        }
        move(binTmp, dir.resolve(bin));
        ObjectNode index = JSON.createObjectNode();
        index.put("rank", rank);
        index.put("file", bin);
        index.set("blocks", blocks);
        index.set("scalars", scalars);
        writeJson(dir.resolve(String.format("rank-%05d.json", rank)), index);

        mesh.group(MeshDim.WORLD).barrier();
        if (rank == 0) {
            MeshShape shape = mesh.shape();
            ObjectNode top = JSON.createObjectNode();
            top.put("format", FORMAT);
            top.put("worldSize", shape.worldSize());
            ObjectNode m = top.putObject("mesh");
            m.put("dpReplicate", shape.dpReplicate());
            m.put("dpShard", shape.dpShard());
            m.put("sp", shape.sp());
            m.put("ep", shape.ep());
            ObjectNode tensors = top.putObject("parameters");
            for (ShardedParameter p : params.values()) {
                ArrayNode a = tensors.putArray(p.name());
                for (long d : p.layout().globalShape()) {
                    a.add(d);
                }
            }
            writeJson(dir.resolve(INDEX), top);
        }
        mesh.group(MeshDim.WORLD).barrier();
    }

    /** Whether this rank is the one that writes {@code p}'s rows (first replica; rank 0 for replicated). */
    private static boolean writes(ShardedParameter p, DeviceMesh mesh) {
        return switch (p.placement()) {
            case Placement.Replicated r -> mesh.rank() == 0;
            case Placement.Sharded s -> s.over() == MeshDim.WORLD || mesh.index(MeshDim.DP_REPLICATE) == 0;
            case Placement.ExpertSharded x -> mesh.index(MeshDim.DP_REPLICATE) == 0;
        };
    }

    /** The parameter an optimizer key {@code <parameter>.<slot>} belongs to (longest matching name). */
    private static ShardedParameter ownerOf(String key, Map<String, ShardedParameter> params) {
        ShardedParameter best = null;
        for (ShardedParameter p : params.values()) {
            if (key.startsWith(p.name() + ".") && (best == null || p.name().length() > best.name().length())) {
                best = p;
            }
        }
        return best;
    }

    // ---------------------------------------------------------------- load

    /** What a checkpoint holds: every block of every rank, the scalars, and the saved mesh. */
    record Contents(Path dir, MeshShape mesh, Map<String, long[]> parameters, Map<String, List<Block>> blocks,
                    Map<String, JsonNode> scalars) {
    }

    static Contents read(Path dir) throws IOException {
        Path indexFile = dir.resolve(INDEX);
        if (!Files.exists(indexFile)) {
            throw new IOException("no " + INDEX + " in " + dir + ": not a sharded checkpoint, or its save did not "
                    + "finish (rank 0 writes " + INDEX + " after every rank has written its shards)");
        }
        JsonNode top = JSON.readTree(indexFile.toFile());
        if (!FORMAT.equals(top.path("format").asText())) {
            throw new IOException(indexFile + ": format '" + top.path("format").asText() + "', expected " + FORMAT);
        }
        JsonNode m = top.get("mesh");
        MeshShape mesh = new MeshShape(m.get("dpReplicate").asInt(), m.get("dpShard").asInt(), m.get("sp").asInt(),
                m.get("ep").asInt());
        Map<String, long[]> parameters = new LinkedHashMap<>();
        top.get("parameters").fields().forEachRemaining(e -> parameters.put(e.getKey(), longs(e.getValue())));
        Map<String, List<Block>> blocks = new HashMap<>();
        Map<String, JsonNode> scalars = new LinkedHashMap<>();
        int world = top.get("worldSize").asInt();
        for (int r = 0; r < world; r++) {
            Path f = dir.resolve(String.format("rank-%05d.json", r));
            if (!Files.exists(f)) {
                throw new IOException("sharded checkpoint " + dir + " lacks " + f.getFileName() + " of rank " + r);
            }
            JsonNode idx = JSON.readTree(f.toFile());
            String file = idx.get("file").asText();
            for (JsonNode b : idx.get("blocks")) {
                Block block = new Block(b.get("tensor").asText(), longs(b.get("globalShape")), b.get("rowStart").asLong(),
                        b.get("rows").asLong(), file, b.get("offset").asLong());
                blocks.computeIfAbsent(block.tensor(), k -> new ArrayList<>()).add(block);
            }
            idx.get("scalars").fields().forEachRemaining(e -> scalars.put(e.getKey(), e.getValue()));
        }
        return new Contents(dir, mesh, parameters, blocks, scalars);
    }

    /** The mesh a checkpoint was saved with. */
    public static MeshShape savedMesh(Path dir) throws IOException {
        return read(dir).mesh();
    }

    /**
     * Loads a checkpoint saved with any mesh into {@code engine}'s shards (its own rows of each
     * parameter) and returns the optimizer state resharded the same way, keyed as the optimizer's
     * {@code stateDict()} (hand it to {@code loadStateDict}); owned by the current scope. Each rank
     * reads only what it needs; no communication.
     *
     * @throws IOException when the folder is not a complete checkpoint, or a parameter is missing,
     *                     has another shape, or lacks rows
     */
    public static Map<String, Tensor> load(Path dir, ParallelModel engine) throws IOException {
        Contents c = read(dir);
        Map<String, ShardedParameter> params = engine.shardedParameters();
        for (ShardedParameter p : params.values()) {
            long[] saved = c.parameters().get(p.name());
            if (saved == null) {
                throw new IOException("sharded checkpoint " + dir + " has no parameter '" + p.name() + "'");
            }
            if (!Arrays.equals(saved, p.layout().globalShape())) {
                throw new IOException("sharded checkpoint " + dir + ": parameter '" + p.name() + "' has shape "
                        + Shapes.str(saved) + ", the model " + Shapes.str(p.layout().globalShape()));
            }
        }
        Map<String, Tensor> optimizer = new LinkedHashMap<>();
        try (MappedFiles files = new MappedFiles(c.dir())) {
            for (ShardedParameter p : params.values()) {
                GradMode.noGrad(() -> fillRows(p.shard(), p.name(), p.layout(), c, files));
            }
            Scope target = Scope.current();
            for (String name : c.blocks().keySet()) {
                if (c.parameters().containsKey(name)) {
                    continue;
                }
                ShardedParameter owner = ownerOf(name, params);
                if (owner == null) {
                    throw new IOException("sharded checkpoint " + dir + ": state '" + name + "' belongs to no parameter of "
                            + "this model");
                }
                Tensor t = Tensor.zeros(DType.F32, owner.shard().device(), owner.layout().shardShape());
                GradMode.noGrad(() -> fillRows(t, name, owner.layout(), c, files));
                optimizer.put(name, t.moveTo(target));
            }
        }
        for (Map.Entry<String, JsonNode> e : c.scalars().entrySet()) {
            optimizer.put(e.getKey(), scalar(e.getValue()));
        }
        return optimizer;
    }

    /**
     * Every saved tensor at its full global shape (parameters and optimizer state), plus the
     * scalars: to load a sharded checkpoint into a plain single-device model; owned by the current scope.
     */
    public static Map<String, Tensor> readFull(Path dir) throws IOException {
        Contents c = read(dir);
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (MappedFiles files = new MappedFiles(c.dir())) {
            for (Map.Entry<String, List<Block>> e : c.blocks().entrySet()) {
                long[] shape = e.getValue().get(0).globalShape();
                long rows = shape.length == 0 ? 1 : shape[0];
                Tensor t = Tensor.zeros(DType.F32, Device.CPU, shape);
                ShardLayout whole = new ShardLayout(shape, 0, rows, 1, 0);
                fillRows(t, e.getKey(), whole, c, files);
                out.put(e.getKey(), t);
            }
        }
        for (Map.Entry<String, JsonNode> e : c.scalars().entrySet()) {
            out.put(e.getKey(), scalar(e.getValue()));
        }
        return out;
    }

    /** Copies the saved rows {@code layout} asks for into {@code dst} (its first validRows rows; the rest zero). */
    private static void fillRows(Tensor dst, String name, ShardLayout layout, Contents c, MappedFiles files) {
        long want = layout.validRows();
        long start = layout.globalRowStart();
        long row = layout.rowElements();
        Tensor host = Tensor.zeros(DType.F32, Device.CPU, dst.rank() == 0 ? new long[] {1} : dst.shape());
        long covered = 0;
        for (Block b : c.blocks().getOrDefault(name, List.of())) {
            long from = Math.max(start, b.rowStart());
            long to = Math.min(start + want, b.rowStart() + b.rows());
            if (from >= to) {
                continue;
            }
            if (b.rowElements() != row) {
                throw new IllegalStateException("sharded checkpoint: '" + name + "' rows hold " + b.rowElements()
                        + " elements in the checkpoint, " + row + " in the model");
            }
            MemorySegment src = files.map(b.file());
            long bytes = (to - from) * row * Float.BYTES;
            MemorySegment.copy(src, b.offset() + (from - b.rowStart()) * row * Float.BYTES, host.data(),
                    (from - start) * row * Float.BYTES, bytes);
            covered += to - from;
        }
        if (covered != want) {
            throw new IllegalStateException("sharded checkpoint: '" + name + "' rows [" + start + ", " + (start + want)
                    + ") are covered by " + covered + " saved rows; the checkpoint is incomplete");
        }
        Tensor src = dst.rank() == 0 ? host.view() : host;
        Layout.copyInto(src.to(dst.device()), dst);
        host.close();
    }

    /** Memory-mapped rank files of one load, unmapped together. */
    private static final class MappedFiles implements AutoCloseable {
        private final Path dir;
        private final Arena arena = Arena.ofConfined();
        private final Map<String, MemorySegment> mapped = new HashMap<>();

        MappedFiles(Path dir) {
            this.dir = dir;
        }

        MemorySegment map(String file) {
            return mapped.computeIfAbsent(file, f -> {
                try (FileChannel ch = FileChannel.open(dir.resolve(f), StandardOpenOption.READ)) {
                    return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException("sharded checkpoint: cannot read " + dir.resolve(f), e);
                }
            });
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    // ---------------------------------------------------------------- helpers

    private static Tensor hostCopy(Tensor t) {
        Tensor c = t.device().type() == Device.Type.CPU ? t : Layout.toDevice(t, Device.CPU);
        return c.contiguous();
    }

    private static Tensor scalar(JsonNode s) {
        DType dt = DType.valueOf(s.get("dtype").asText());
        Tensor t = Tensor.zeros(dt, Device.CPU);
        if (dt.isFloating()) {
            HostElements.setFloat(t.data(), dt, 0, (float) Double.parseDouble(s.get("value").asText()));
        } else {
            HostElements.setLong(t.data(), dt, 0, Long.parseLong(s.get("value").asText()));
        }
        return t;
    }

    private static long[] longs(JsonNode a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asLong();
        }
        return out;
    }

    private static void writeJson(Path file, JsonNode node) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), node);
        move(tmp, file);
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            java.nio.file.Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            java.nio.file.Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
