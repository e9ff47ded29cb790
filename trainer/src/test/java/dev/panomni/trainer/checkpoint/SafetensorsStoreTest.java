package dev.panomni.trainer.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Layout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsStoreTest {
    @TempDir
    Path dir;

    @Test
    void writesTheSafetensorsLayoutAndReadsItBack() throws Exception {
        try (Scope s = Scope.open("st")) {
            Tensor m = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
            Tensor transposed = m.transpose(0, 1); // [3, 2], not contiguous: written in row-major order
            Tensor half = Layout.cast(Tensor.of(new float[] {0.5f, -2f}, 2), DType.BF16);
            Path f = dir.resolve("t.safetensors");
            new SafetensorsStore().write(Map.of("b.t", transposed, "a.half", half,
                    "c.ids", Tensor.ofLongs(new long[] {3, -1}, 2)), f);

            byte[] bytes = Files.readAllBytes(f);
            long headerLen = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            JsonNode header = new ObjectMapper().readTree(new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8));
            assertEquals("pt", header.get("__metadata__").get("format").asText());
            assertEquals("BF16", header.get("a.half").get("dtype").asText());
            assertEquals("[3,2]", header.get("b.t").get("shape").toString());
            assertEquals("I64", header.get("c.ids").get("dtype").asText());
            long[][] spans = {offsets(header, "a.half"), offsets(header, "b.t"), offsets(header, "c.ids")};
            assertEquals(4, spans[0][1] - spans[0][0]);
            assertEquals(24, spans[1][1] - spans[1][0]);
            assertEquals(16, spans[2][1] - spans[2][0]);
            assertEquals(8 + headerLen + 4 + 24 + 16, bytes.length, "tensors packed after the header");

            Map<String, Tensor> back = new SafetensorsStore().read(f);
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, back.get("b.t").toFloatArray());
            assertArrayEquals(new long[] {3, 2}, back.get("b.t").shape());
            assertEquals(DType.BF16, back.get("a.half").dtype());
            assertArrayEquals(new float[] {0.5f, -2f}, back.get("a.half").toFloatArray());
            assertArrayEquals(new long[] {3, -1}, back.get("c.ids").toLongArray());
            assertEquals(new TensorInfo(DType.F32, new long[] {3, 2}), new SafetensorsStore().describe(f).get("b.t"));
        }
    }

    @Test
    void truncatedOrCorruptFilesAreRejectedWithTheReason() throws Exception {
        Path f = dir.resolve("t.safetensors");
        try (Scope s = Scope.open("st")) {
            new SafetensorsStore().write(Map.of("w", Tensor.zeros(16)), f);
        }
        byte[] bytes = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(bytes, bytes.length - 1));
        IOException e = assertThrows(IOException.class, () -> new SafetensorsStore().describe(f));
        assertTrue(e.getMessage().contains("tensor 'w': data_offsets [0, 64] extend beyond the data section"),
                e.getMessage());
        Files.write(f, new byte[] {1, 2, 3});
        assertTrue(assertThrows(IOException.class, () -> new SafetensorsStore().read(f)).getMessage()
                .contains("shorter than the 8-byte header length"));
    }

    private static long[] offsets(JsonNode header, String name) {
        JsonNode o = header.get(name).get("data_offsets");
        return new long[] {o.get(0).asLong(), o.get(1).asLong()};
    }
}
