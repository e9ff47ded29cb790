package dev.panomni.trainer.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Layout;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A small safetensors reader/writer private to the trainer (the format: an 8-byte little-endian
 * header length, a JSON header of {@code name -> {dtype, shape, data_offsets}}, then the raw
 * little-endian tensor bytes). Files it writes load in Hugging Face's {@code safetensors}.
 * Reading copies from a memory-mapped file, one tensor at a time.
 */
public final class MinimalSafetensorsStore implements TensorStore {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    @Override
    public void write(Map<String, Tensor> tensors, Path file) throws IOException {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new IOException("safetensors is little-endian; writing from a big-endian host is not supported");
        }
        Map<String, Tensor> sorted = new TreeMap<>(tensors);
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
            Tensor t = e.getValue();
            long bytes = t.numel() * t.dtype().byteSize();
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", t.dtype().safetensorsName());
            var shape = entry.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) & ~7;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, head);
            for (Tensor t : sorted.values()) {
                try (Scope s = Scope.open("safetensors.write")) {
                    Tensor host = Layout.toDevice(t.detach(), Device.CPU).contiguous();
                    long bytes = host.numel() * host.dtype().byteSize();
                    if (bytes > 0) {
                        writeFully(ch, host.data().asSlice(0, bytes).asByteBuffer());
                    }
                }
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    @Override
    public Map<String, Tensor> read(Path file) throws IOException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (Arena arena = Arena.ofConfined();
             FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            Header h = header(ch, file);
            MemorySegment mapped = size == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            for (Map.Entry<String, Entry> e : h.entries.entrySet()) {
                Entry en = e.getValue();
                Tensor t = Tensor.empty(en.info.dtype(), Device.CPU, en.info.shape());
                long bytes = en.end - en.begin;
                if (bytes > 0) {
                    MemorySegment.copy(mapped, h.dataStart + en.begin, t.data(), 0, bytes);
                }
                out.put(e.getKey(), t);
            }
        }
        return out;
    }

    @Override
    public Map<String, TensorInfo> describe(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Map<String, TensorInfo> out = new LinkedHashMap<>();
            header(ch, file).entries.forEach((k, v) -> out.put(k, v.info));
            return out;
        }
    }

    private record Entry(TensorInfo info, long begin, long end) {
    }

    private record Header(Map<String, Entry> entries, long dataStart) {
    }

    /** Parses and checks the header: known dtypes, offsets consistent with shapes and the file size. */
    private static Header header(FileChannel ch, Path file) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new IOException(file + ": not a safetensors file (" + size + " bytes, shorter than the header length)");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        ch.read(lenBuf, 0);
        long headerLen = lenBuf.flip().getLong();
        if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
            throw new IOException(file + ": corrupt safetensors header length " + headerLen + " (file has " + size
                    + " bytes)");
        }
        ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
        while (hb.hasRemaining()) {
            if (ch.read(hb, 8 + hb.position()) < 0) {
                throw new IOException(file + ": truncated safetensors header");
            }
        }
        JsonNode root;
        try {
            root = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8).trim());
        } catch (IOException e) {
            throw new IOException(file + ": safetensors header is not valid JSON: " + e.getMessage(), e);
        }
        long dataStart = 8 + headerLen;
        long dataBytes = size - dataStart;
        Map<String, Entry> entries = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = root.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> f = it.next();
            if (f.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode e = f.getValue();
            DType dtype = dtypeOf(e.path("dtype").asText(), file, f.getKey());
            JsonNode shapeNode = e.path("shape");
            long[] shape = new long[shapeNode.size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeNode.get(i).asLong();
            }
            long begin = e.path("data_offsets").path(0).asLong(-1);
            long end = e.path("data_offsets").path(1).asLong(-1);
            long expected = Shapes.numel(shape) * dtype.byteSize();
            if (begin < 0 || end < begin || end > dataBytes || end - begin != expected) {
                throw new IOException(file + ": tensor '" + f.getKey() + "' " + Shapes.str(shape) + " " + dtype
                        + " has data_offsets [" + begin + ", " + end + "] but needs " + expected + " bytes within the "
                        + dataBytes + " data bytes (truncated or corrupt file)");
            }
            entries.put(f.getKey(), new Entry(new TensorInfo(dtype, shape), begin, end));
        }
        return new Header(entries, dataStart);
    }

    private static DType dtypeOf(String name, Path file, String tensor) throws IOException {
        for (DType d : DType.values()) {
            if (d.safetensorsName().equals(name)) {
                return d;
            }
        }
        throw new IOException(file + ": tensor '" + tensor + "' has dtype '" + name + "', which Panomni does not hold");
    }
}
