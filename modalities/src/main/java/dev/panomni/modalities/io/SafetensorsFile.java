package dev.panomni.modalities.io;

import dev.panomni.tensor.Device;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Storage;
import dev.panomni.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One safetensors file, memory-mapped read-only and validated on open ({@link SafetensorsHeader}).
 *
 * <p>Two ways to get a tensor out:
 * <ul>
 *   <li>{@link #load(String, Device)} (the default): allocates a tensor on the target device and
 *       copies the bytes straight from the mapping into it, with no intermediate heap buffer. The
 *       result is an ordinary, writable tensor with its own lifetime; closing the file does not
 *       touch it. Parameters, which optimizers update in place and which usually live on the GPU,
 *       load this way.</li>
 *   <li>{@link #view(String)}: a zero-copy, read-only host tensor over the mapping itself. Each view
 *       holds a reference on the mapping, which is unmapped only when the file is closed and every
 *       view's storage is freed, so a view can never read unmapped memory. Writing through a view
 *       throws IllegalArgumentException (the mapping is read-only). Use for frozen weights and for streaming to a device.</li>
 * </ul>
 *
 * <p>The file must not be truncated by another process while mapped: the OS would fault on the
 * missing pages (the JVM reports this as an {@link InternalError}, not a crash, but the load fails).
 */
public final class SafetensorsFile implements AutoCloseable {
    private final Path path;
    private final Arena arena;
    private final MemorySegment content;
    private final SafetensorsHeader header;
    private final Map<String, SafetensorsEntry> byName;
    /** One hold for the open file plus one per live view; the mapping goes with the last. */
    private final AtomicInteger holds = new AtomicInteger(1);
    private volatile boolean closed;

    private SafetensorsFile(Path path, Arena arena, MemorySegment content, SafetensorsHeader header) {
        this.path = path;
        this.arena = arena;
        this.content = content;
        this.header = header;
        Map<String, SafetensorsEntry> m = new LinkedHashMap<>();
        for (SafetensorsEntry e : header.entries()) {
            m.put(e.name(), e);
        }
        this.byName = Collections.unmodifiableMap(m);
    }

    /**
     * Maps and validates {@code path}.
     *
     * @throws SafetensorsFormatException when the content is inconsistent (the message names the
     *                                    file, the tensor and the problem)
     * @throws IOException                when the file cannot be read
     */
    public static SafetensorsFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < 8) {
                throw new SafetensorsFormatException(path, null, "file is " + size
                        + " bytes, shorter than the 8-byte header length (empty or truncated file)");
            }
            MemorySegment content = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            SafetensorsHeader header = SafetensorsHeader.parse(path, content);
            return new SafetensorsFile(path, arena, content, header);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public SafetensorsHeader header() {
        return header;
    }

    /** The {@code __metadata__} map (empty when absent). */
    public Map<String, String> metadata() {
        return header.metadata();
    }

    /** Tensor names in data order. */
    public List<String> names() {
        return new ArrayList<>(byName.keySet());
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** The header record of {@code name}; throws naming the file when absent. */
    public SafetensorsEntry entry(String name) {
        SafetensorsEntry e = byName.get(name);
        if (e == null) {
            throw new IllegalArgumentException(path + ": no tensor '" + name + "' (the file holds " + byName.size()
                    + " tensors)");
        }
        return e;
    }

    /**
     * The raw little-endian bytes of {@code name}: a read-only slice of the mapping, valid until
     * {@link #close()}. For copying into preallocated tensors (stacking, device upload).
     */
    public MemorySegment bytes(String name) {
        checkOpen();
        SafetensorsEntry e = entry(name);
        return content.asSlice(header.dataStart() + e.begin(), e.byteSize()).asReadOnly();
    }

    /** {@code name} copied into a new contiguous host tensor. */
    public Tensor load(String name) {
        return load(name, Device.CPU);
    }

    /** {@code name} copied straight from the mapping into a new contiguous tensor on {@code device}. */
    public Tensor load(String name, Device device) {
        SafetensorsEntry e = entry(name);
        Tensor t = Tensor.empty(e.dtype(), device, e.shape());
        copyInto(name, t, 0);
        return t;
    }

    /**
     * Copies the bytes of {@code name} into {@code dst}'s storage, starting {@code dstByteOffset}
     * bytes after {@code dst}'s first element. {@code dst} must be contiguous over that range (for
     * example expert {@code e} of a stacked [experts, ...] tensor). Dtypes must match.
     */
    public void copyInto(String name, Tensor dst, long dstByteOffset) {
        SafetensorsEntry e = entry(name);
        if (dst.dtype() != e.dtype()) {
            throw new IllegalArgumentException(path + ": tensor '" + name + "' is " + e.dtype() + ", destination "
                    + dst.describe() + " is " + dst.dtype());
        }
        if (!dst.isContiguous()) {
            throw new IllegalArgumentException(path + ": destination " + dst.describe() + " for '" + name
                    + "' must be contiguous");
        }
        long room = dst.numel() * dst.dtype().byteSize() - dstByteOffset;
        if (dstByteOffset < 0 || e.byteSize() > room) {
            throw new IllegalArgumentException(path + ": tensor '" + name + "' (" + e.byteSize() + " bytes) does not fit "
                    + dst.describe() + " at byte offset " + dstByteOffset);
        }
        if (e.byteSize() == 0) {
            return;
        }
        dst.backend().copyFromHost(bytes(name), dst.storage(), dst.byteOffset() + dstByteOffset, e.byteSize());
    }

    /**
     * A zero-copy, read-only host tensor over the mapped bytes of {@code name}. The mapping stays
     * alive while the view's storage does, even after {@link #close()}. When the bytes are not
     * aligned to the element size (a file written without the reference library's alignment), a
     * copy is returned instead, since the CPU kernels need aligned elements.
     */
    public Tensor view(String name) {
        SafetensorsEntry e = entry(name);
        MemorySegment slice = bytes(name);
        if (slice.address() % e.dtype().byteSize() != 0) {
            return load(name);
        }
        retainMapping();
        Storage storage = new Storage(Device.CPU, slice, e.byteSize(), this::releaseMapping);
        return Tensor.wrap(storage, e.dtype(), e.shape(), Shapes.contiguousStrides(e.shape()), 0);
    }

    /** True once {@link #close()} ran (views may still hold the mapping). */
    public boolean isClosed() {
        return closed;
    }

    /** Drops the file's hold on the mapping; it is unmapped once no view holds it either. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        releaseMapping();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(path + " was closed");
        }
    }

    private void retainMapping() {
        while (true) {
            int n = holds.get();
            if (n <= 0) {
                throw new IllegalStateException(path + " was closed and unmapped");
            }
            if (holds.compareAndSet(n, n + 1)) {
                return;
            }
        }
    }

    private void releaseMapping() {
        if (holds.decrementAndGet() == 0) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + byName.size() + " tensors" + (closed ? ", closed" : "") + "]";
    }

}
