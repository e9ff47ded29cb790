package dev.panomni.modalities.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Shapes;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The parsed, validated header of a safetensors file: an 8-byte little-endian header length
 * {@code N}, then {@code N} bytes of UTF-8 JSON mapping each tensor name to its dtype, shape and
 * {@code data_offsets} within the data section that follows (plus an optional string map
 * {@code __metadata__}).
 *
 * <p>Validation is that of the reference implementation (the Rust {@code safetensors} crate): the
 * header fits the file and is at most 100 MB, the JSON is well formed with no duplicate keys, every
 * dtype is known, every tensor's byte range holds exactly {@code numel * dtype size} bytes, and the
 * ranges, sorted by offset, tile the data section with no gap, overlap or trailing byte.
 *
 * @param metadata     the {@code __metadata__} map (empty when absent), sorted by key
 * @param entries      tensors in data order (ascending offsets)
 * @param headerLength {@code N}: the data section starts at byte {@code 8 + N} of the file
 */
public record SafetensorsHeader(Map<String, String> metadata, List<SafetensorsEntry> entries, long headerLength) {
    /** The reference implementation refuses headers above this size. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /** Dtype names the format defines that Panomni's {@link DType} does not hold. */
    private static final Set<String> KNOWN_UNSUPPORTED = Set.of(
            "F64", "I8", "I16", "U16", "U32", "U64", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64");

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    public SafetensorsHeader {
        metadata = Collections.unmodifiableMap(new TreeMap<>(metadata));
        entries = List.copyOf(entries);
    }

    /** Byte offset in the file where the data section starts. */
    public long dataStart() {
        return 8 + headerLength;
    }

    /**
     * Parses and validates the header of {@code file}, whose bytes are {@code content}.
     *
     * @throws SafetensorsFormatException naming the file, the tensor and the problem
     */
    public static SafetensorsHeader parse(Path file, MemorySegment content) throws SafetensorsFormatException {
        long fileSize = content.byteSize();
        if (fileSize < 8) {
            throw new SafetensorsFormatException(file, null, "file is " + fileSize
                    + " bytes, shorter than the 8-byte header length (empty or truncated file)");
        }
        long n = content.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw new SafetensorsFormatException(file, null, "header length " + Long.toUnsignedString(n)
                    + " exceeds the " + MAX_HEADER_BYTES + "-byte limit (not a safetensors file?)");
        }
        if (8 + n > fileSize) {
            throw new SafetensorsFormatException(file, null, "header length " + n + " extends beyond the end of the file ("
                    + fileSize + " bytes): the file is truncated or not a safetensors file");
        }
        String text;
        try {
            ByteBuffer bytes = content.asSlice(8, n).asByteBuffer();
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsFormatException(file, null, "header is not valid UTF-8", e);
        }
        if (!text.startsWith("{")) {
            throw new SafetensorsFormatException(file, null, "header does not start with '{' (not a safetensors file?)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new SafetensorsFormatException(file, null, "header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsFormatException(file, null, "header is not a JSON object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        List<SafetensorsEntry> entries = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (field.getKey().equals("__metadata__")) {
                parseMetadata(file, field.getValue(), metadata);
            } else {
                entries.add(parseEntry(file, field.getKey(), field.getValue()));
            }
        }
        entries.sort(Comparator.comparingLong(SafetensorsEntry::begin).thenComparingLong(SafetensorsEntry::end));
        validateLayout(file, entries, fileSize - 8 - n);
        return new SafetensorsHeader(metadata, entries, n);
    }

    private static void parseMetadata(Path file, JsonNode node, Map<String, String> out) throws SafetensorsFormatException {
        if (node.isNull()) {
            return;
        }
        if (!node.isObject()) {
            throw new SafetensorsFormatException(file, null, "__metadata__ must be an object of strings, got " + node.getNodeType());
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new SafetensorsFormatException(file, null, "__metadata__ value of '" + e.getKey()
                        + "' must be a string, got " + e.getValue().getNodeType());
            }
            out.put(e.getKey(), e.getValue().asText());
        }
    }

    private static SafetensorsEntry parseEntry(Path file, String name, JsonNode node) throws SafetensorsFormatException {
        if (!node.isObject()) {
            throw new SafetensorsFormatException(file, name, "header entry must be an object with dtype, shape and data_offsets");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new SafetensorsFormatException(file, name, "missing or non-string 'dtype'");
        }
        DType dtype = dtype(file, name, dtypeNode.asText());
        long[] shape = longArray(file, name, "shape", node.get("shape"), -1);
        long[] offsets = longArray(file, name, "data_offsets", node.get("data_offsets"), 2);
        long numel;
        long needed;
        try {
            numel = 1;
            for (long d : shape) {
                numel = Math.multiplyExact(numel, d);
            }
            needed = Math.multiplyExact(numel, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new SafetensorsFormatException(file, name, "shape " + Arrays.toString(shape) + " overflows");
        }
        if (offsets[1] < offsets[0]) {
            throw new SafetensorsFormatException(file, name, "data_offsets [" + offsets[0] + ", " + offsets[1] + "] end before they begin");
        }
        if (offsets[1] - offsets[0] != needed) {
            throw new SafetensorsFormatException(file, name, "shape " + Shapes.str(shape) + " of dtype " + dtype + " needs "
                    + needed + " bytes but data_offsets [" + offsets[0] + ", " + offsets[1] + "] hold "
                    + (offsets[1] - offsets[0]));
        }
        return new SafetensorsEntry(name, dtype, shape, offsets[0], offsets[1]);
    }

    /** The dtype named {@code text} in a safetensors header. */
    static DType dtype(Path file, String tensor, String text) throws SafetensorsFormatException {
        for (DType d : DType.values()) {
            if (d.safetensorsName().equals(text)) {
                return d;
            }
        }
        String supported = Arrays.stream(DType.values()).map(DType::safetensorsName).toList().toString();
        if (KNOWN_UNSUPPORTED.contains(text)) {
            throw new SafetensorsFormatException(file, tensor, "dtype " + text + " is not supported (supported: "
                    + supported + "); convert the checkpoint first");
        }
        throw new SafetensorsFormatException(file, tensor, "unknown dtype '" + text + "' (supported: " + supported + ")");
    }

    private static long[] longArray(Path file, String tensor, String key, JsonNode node, int length)
            throws SafetensorsFormatException {
        if (node == null || !node.isArray()) {
            throw new SafetensorsFormatException(file, tensor, "missing or non-array '" + key + "'");
        }
        if (length >= 0 && node.size() != length) {
            throw new SafetensorsFormatException(file, tensor, "'" + key + "' must have " + length + " entries, got " + node);
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
                throw new SafetensorsFormatException(file, tensor, "'" + key + "' must hold non-negative integers, got " + node);
            }
            out[i] = v.asLong();
        }
        return out;
    }

    private static void validateLayout(Path file, List<SafetensorsEntry> sorted, long dataBytes)
            throws SafetensorsFormatException {
        long cursor = 0;
        SafetensorsEntry previous = null;
        for (SafetensorsEntry e : sorted) {
            if (e.end() > dataBytes) {
                throw new SafetensorsFormatException(file, e.name(), "data_offsets [" + e.begin() + ", " + e.end()
                        + "] extend beyond the data section (" + dataBytes + " bytes): the file is truncated");
            }
            if (e.begin() < cursor) {
                throw new SafetensorsFormatException(file, e.name(), "data_offsets [" + e.begin() + ", " + e.end()
                        + "] overlap tensor '" + previous.name() + "' [" + previous.begin() + ", " + previous.end() + "]");
            }
            if (e.begin() > cursor) {
                throw new SafetensorsFormatException(file, e.name(), "data_offsets [" + e.begin() + ", " + e.end()
                        + "] leave a gap of " + (e.begin() - cursor) + " bytes after "
                        + (previous == null ? "the header" : "tensor '" + previous.name() + "'"));
            }
            cursor = e.end();
            previous = e;
        }
        if (cursor != dataBytes) {
            throw new SafetensorsFormatException(file, null, "data section is " + dataBytes + " bytes but the tensors cover "
                    + cursor + " (" + (dataBytes - cursor) + " trailing bytes)");
        }
    }
}
