package dev.panomni.modalities.io;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsTest {
    @TempDir
    Path dir;

    static Tensor random(DType dtype, Random rnd, long... shape) {
        Tensor t = Tensor.empty(dtype, Device.CPU, shape);
        byte[] b = new byte[Math.toIntExact(t.numel() * dtype.byteSize())];
        rnd.nextBytes(b);
        if (dtype == DType.BOOL) {
            for (int i = 0; i < b.length; i++) {
                b[i] &= 1;
            }
        }
        MemorySegment.copy(b, 0, t.data(), ValueLayout.JAVA_BYTE, 0, b.length);
        return t;
    }

    static byte[] bytesOf(Tensor t) {
        return t.contiguous().data().asSlice(0, t.numel() * t.dtype().byteSize()).toArray(ValueLayout.JAVA_BYTE);
    }

    static byte[] file(String json, byte[] data) {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return b.array();
    }

    static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    // ------------------------------------------------------------------ golden bytes of the reference library

    @Test
    void writesTheReferenceLibrarysBytes() throws IOException {
        try (Scope s = Scope.open()) {
            Path p = dir.resolve("a.safetensors");
            SafetensorsWriter.write(p, Map.of("attn.0", Tensor.of(new float[] {0, 1, 2, 3, 4, 5}, 1, 2, 3)), null);
            // 64 header bytes: already a multiple of 8, no padding.
            assertArrayEquals(file("{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}",
                    floats(0, 1, 2, 3, 4, 5)), Files.readAllBytes(p));

            SafetensorsWriter.write(p, Map.of("attn0", Tensor.of(new float[] {0, 1, 2, 3, 4, 5}, 1, 1, 2, 3)), null);
            assertArrayEquals(file("{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ",
                    floats(0, 1, 2, 3, 4, 5)), Files.readAllBytes(p));

            SafetensorsWriter.write(p, Map.of(), null);
            assertArrayEquals(file("{}      ", new byte[0]), Files.readAllBytes(p));

            SafetensorsWriter.write(p, Map.of(), Map.of("framework", "pt"));
            assertArrayEquals(file("{\"__metadata__\":{\"framework\":\"pt\"}}     ", new byte[0]), Files.readAllBytes(p));
        }
    }

    @Test
    void laysOutByDescendingDtypeThenName() throws IOException {
        try (Scope s = Scope.open()) {
            Random rnd = new Random(1);
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("z_bool", random(DType.BOOL, rnd, 3));
            m.put("b_f16", random(DType.F16, rnd, 3));
            m.put("a_f16", random(DType.F16, rnd, 1));
            m.put("bf", random(DType.BF16, rnd, 5));
            m.put("f32", random(DType.F32, rnd, 2));
            m.put("i64", random(DType.I64, rnd, 1));
            Path p = dir.resolve("order.safetensors");
            SafetensorsWriter.write(p, m, Map.of("format", "pt"));
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                assertEquals(List.of("i64", "f32", "bf", "a_f16", "b_f16", "z_bool"), f.names());
                assertEquals(Map.of("format", "pt"), f.metadata());
                assertEquals(0, f.header().dataStart() % 8);
            }
        }
    }

    // ------------------------------------------------------------------ round trips

    private Map<String, Tensor> mixed(Random rnd) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("model.embed_tokens.weight", random(DType.BF16, rnd, 17, 6));
        m.put("model.norm.weight", random(DType.F32, rnd, 6));
        m.put("half", random(DType.F16, rnd, 3, 5));
        m.put("ids", random(DType.I64, rnd, 4));
        m.put("counts", random(DType.I32, rnd, 2, 3));
        m.put("bytes", random(DType.U8, rnd, 7));
        m.put("mask", random(DType.BOOL, rnd, 5));
        m.put("empty", random(DType.F32, rnd, 0, 4));
        m.put("scalar", random(DType.F32, rnd));
        return m;
    }

    @Test
    void loadThenSaveIsByteIdentical() throws IOException {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> original = mixed(new Random(7));
            Path first = dir.resolve("first.safetensors");
            SafetensorsWriter.write(first, original, Map.of("format", "pt"));
            Map<String, Tensor> loaded = new LinkedHashMap<>();
            try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(first)) {
                assertEquals(original.keySet(), new java.util.HashSet<>(ck.names()));
                for (String n : ck.names()) {
                    Tensor t = ck.load(n);
                    assertEquals(original.get(n).dtype(), t.dtype(), n);
                    assertArrayEquals(original.get(n).shape(), t.shape(), n);
                    assertArrayEquals(bytesOf(original.get(n)), bytesOf(t), n);
                    loaded.put(n, t);
                }
                Path second = dir.resolve("second.safetensors");
                SafetensorsWriter.write(second, loaded, ck.metadata());
                assertArrayEquals(Files.readAllBytes(first), Files.readAllBytes(second));
            }
        }
    }

    @Test
    void viewsAreZeroCopyReadOnlyAndOutliveTheFile() throws IOException {
        try (Scope s = Scope.open()) {
            Path p = dir.resolve("v.safetensors");
            SafetensorsWriter.write(p, Map.of("w", Tensor.of(new float[] {1, 2, 3, 4}, 2, 2)), null);
            SafetensorsFile f = SafetensorsFile.open(p);
            Tensor v = f.view("w");
            assertEquals(f.bytes("w").address(), v.data().address(), "a view reads the mapping itself");
            f.close();
            assertTrue(f.isClosed());
            assertArrayEquals(new float[] {1, 2, 3, 4}, v.toFloatArray(), "the mapping stays while the view lives");
            IllegalArgumentException ro = assertThrows(IllegalArgumentException.class,
                    () -> v.data().set(ValueLayout.JAVA_FLOAT, 0, 9f));
            assertTrue(ro.getMessage().contains("read-only"), ro.getMessage());
            assertThrows(IllegalStateException.class, () -> f.view("w"));
            MemorySegment mapped = v.data();
            assertTrue(mapped.scope().isAlive());
            v.close();
            assertFalse(mapped.scope().isAlive(), "the last view's release unmaps the file");
        }
    }

    @Test
    void unpaddedHeadersAreReadAndMisalignedViewsCopy() throws IOException {
        try (Scope s = Scope.open()) {
            // Older writers did not pad the header: 54 bytes put the F32 data at file offset 62, not a multiple of 4.
            String json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
            Path p = dir.resolve("odd.safetensors");
            Files.write(p, file(json, floats(1.5f, -2f)));
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                assertEquals(54, f.header().headerLength());
                Tensor v = f.view("w");
                assertTrue(v.data().address() != f.bytes("w").address(), "a misaligned view is a copy");
                assertArrayEquals(new float[] {1.5f, -2f}, v.toFloatArray());
                assertArrayEquals(new float[] {1.5f, -2f}, f.load("w").toFloatArray());
            }
        }
    }

    @Test
    void shardedWriteFollowsHuggingFaceAndRoundTrips() throws IOException {
        try (Scope s = Scope.open()) {
            Random rnd = new Random(3);
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("a", random(DType.F32, rnd, 10));        // 40 bytes
            m.put("b", random(DType.F32, rnd, 10));        // 40: 80 > 64, new shard
            m.put("big", random(DType.F32, rnd, 30));      // 120 > 64: a shard of its own
            m.put("c", random(DType.BF16, rnd, 8));        // 16: joins b
            Path out = dir.resolve("ckpt");
            List<Path> files = SafetensorsWriter.writeSharded(out, m, Map.of("format", "pt"), 64);
            assertEquals(List.of("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                            "model-00003-of-00003.safetensors", "model.safetensors.index.json"),
                    files.stream().map(f -> f.getFileName().toString()).toList());
            String index = Files.readString(out.resolve("model.safetensors.index.json"));
            assertEquals("""
                    {
                      "metadata": {
                        "total_size": 216
                      },
                      "weight_map": {
                        "a": "model-00001-of-00003.safetensors",
                        "b": "model-00003-of-00003.safetensors",
                        "big": "model-00002-of-00003.safetensors",
                        "c": "model-00003-of-00003.safetensors"
                      }
                    }
                    """, index);
            Map<String, Tensor> loaded = new LinkedHashMap<>();
            try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(out)) {
                assertEquals(3, ck.files().size());
                assertEquals("216", ck.metadata().get("total_size"));
                for (String n : m.keySet()) {
                    loaded.put(n, ck.load(n));
                    assertArrayEquals(bytesOf(m.get(n)), bytesOf(loaded.get(n)), n);
                }
            }
            Path again = dir.resolve("again");
            SafetensorsWriter.writeSharded(again, loaded, Map.of("format", "pt"), 64);
            for (Path f : files) {
                assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(again.resolve(f.getFileName())), f.toString());
            }
            // Re-saving as one file replaces the shards and the index.
            SafetensorsWriter.writeSharded(out, loaded, Map.of("format", "pt"), 1 << 20);
            try (var ls = Files.list(out)) {
                assertEquals(List.of("model.safetensors"), ls.map(f -> f.getFileName().toString()).toList());
            }
        }
    }

    @Test
    void writesStridedTensorsAsContiguousData() throws IOException {
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).t();
            Path p = dir.resolve("t.safetensors");
            SafetensorsWriter.write(p, Map.of("t", t), null);
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                Tensor back = f.load("t");
                assertArrayEquals(new long[] {3, 2}, back.shape());
                assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, back.toFloatArray());
            }
            try (var ls = Files.list(dir)) {
                assertFalse(ls.anyMatch(f -> f.getFileName().toString().endsWith(".tmp")), "no temporary file is left");
            }
        }
    }

    // ------------------------------------------------------------------ corrupt files

    private SafetensorsFormatException corrupt(String name, byte[] content) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, content);
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(p).close());
        assertTrue(e.getMessage().contains(p.toString()), "message names the file: " + e.getMessage());
        return e;
    }

    private static void assertMentions(SafetensorsFormatException e, String tensor, String... words) {
        if (tensor != null) {
            assertEquals(tensor, e.tensor());
            assertTrue(e.getMessage().contains("'" + tensor + "'"), e.getMessage());
        }
        for (String w : words) {
            assertTrue(e.getMessage().contains(w), "expected '" + w + "' in: " + e.getMessage());
        }
    }

    @Test
    void corruptFilesAreClearErrors() throws IOException {
        assertMentions(corrupt("short.safetensors", new byte[] {1, 2, 3}), null, "shorter than the 8-byte");
        byte[] lengthBeyond = file("{}", new byte[0]);
        lengthBeyond[0] = 100;
        assertMentions(corrupt("beyond.safetensors", lengthBeyond), null, "header length 100 extends beyond", "truncated");
        byte[] huge = file("{}", new byte[0]);
        Arrays.fill(huge, 0, 8, (byte) 0xff);
        assertMentions(corrupt("huge.safetensors", huge), null, "exceeds the 100000000-byte limit");
        assertMentions(corrupt("json.safetensors", file("{\"a\":{\"dtype\":", new byte[0])), null, "not valid JSON");
        assertMentions(corrupt("notobj.safetensors", file("[1, 2]  ", new byte[0])), null, "does not start with '{'");
        assertMentions(corrupt("entry.safetensors", file("{\"\u00e9\":1}", new byte[0])), "\u00e9", "must be an object");
        byte[] badUtf8 = file("{\"x\":1}", new byte[0]);
        badUtf8[10] = (byte) 0xc3;
        assertMentions(corrupt("utf8b.safetensors", badUtf8), null, "not valid UTF-8");
        assertMentions(corrupt("dtype.safetensors", file(
                "{\"w\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4])), "w", "unknown dtype 'Q7'");
        assertMentions(corrupt("f64.safetensors", file(
                "{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8])), "w", "F64 is not supported");
        assertMentions(corrupt("shape.safetensors", file(
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", new byte[20])), "w",
                "[2, 3] of dtype F32 needs 24 bytes", "hold 20");
        assertMentions(corrupt("range.safetensors", file(
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[12])), "w",
                "extend beyond the data section (12 bytes)", "truncated");
        assertMentions(corrupt("overlap.safetensors", file(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12])), "b",
                "overlap tensor 'a'");
        assertMentions(corrupt("gap.safetensors", file(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", new byte[12])), "b",
                "gap of 4 bytes after tensor 'a'");
        assertMentions(corrupt("trailing.safetensors", file(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[9])), null, "5 trailing bytes");
        assertMentions(corrupt("dup.safetensors", file(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4])), null, "Duplicate");
        assertMentions(corrupt("neg.safetensors", file(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4])), "a", "non-negative integers");
        assertMentions(corrupt("offs.safetensors", file(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", new byte[4])), "a", "must have 2 entries");
    }

    @Test
    void truncatedCopyOfARealFileIsAClearError() throws IOException {
        try (Scope s = Scope.open()) {
            Path p = dir.resolve("whole.safetensors");
            SafetensorsWriter.write(p, mixed(new Random(5)), null);
            long size = Files.size(p);
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                ch.truncate(size - 3);
            }
            SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(p));
            assertTrue(e.tensor() != null, "the last tensor in data order is named: " + e.getMessage());
            assertMentions(e, e.tensor(), "extend beyond the data section", "truncated");
        }
    }

    @Test
    void brokenIndexesAreClearErrors() throws IOException {
        try (Scope s = Scope.open()) {
            Path out = dir.resolve("ck");
            Random rnd = new Random(2);
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("a", random(DType.F32, rnd, 8));
            m.put("b", random(DType.F32, rnd, 8));
            SafetensorsWriter.writeSharded(out, m, null, 32);
            Path index = out.resolve("model.safetensors.index.json");
            String good = Files.readString(index);

            Files.writeString(index, good.replace("\"a\": ", "\"zz\": "));
            SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(out));
            assertMentions(e, "zz", "holds no such tensor");

            Files.writeString(index, good.replace("model-00002-of-00002", "model-00009-of-00009"));
            e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(out));
            assertMentions(e, null, "does not exist");

            Files.writeString(index, good.replace("model-00002-of-00002", "../escape"));
            e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(out));
            assertMentions(e, null, "lies outside");

            Files.writeString(index, "{\"metadata\": {}}");
            e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(out));
            assertMentions(e, null, "no \"weight_map\"");
        }
    }
}
