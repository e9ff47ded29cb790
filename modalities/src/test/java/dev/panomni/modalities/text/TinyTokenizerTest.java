package dev.panomni.modalities.text;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A hand-written byte-level BPE tokenizer whose ids are worked out by hand: ids 0..255 are the
 * 256 byte tokens (id = byte value), merges produce ids 256 upwards, added tokens are 300..303.
 */
class TinyTokenizerTest {
    static final String QWEN_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String X80 = String.valueOf(ByteLevel.charOf(0x80));
    /** Merges in rank order; the product of merge i gets id 256 + i. */
    private static final String[][] MERGES = {
            {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"Ġ", "w"}, {"o", "r"}, {"Ġw", "or"}, {"l", "d"},
            {"2", "0"}, {"Ġ", "b"}, {X80, "b"},
    };

    static String tinyJson(String pattern, boolean arrayMerges) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode added = root.putArray("added_tokens");
        addToken(added, 300, "<|im_start|>", true);
        addToken(added, 301, "<|im_end|>", true);
        addToken(added, 302, "<think>", false);
        addToken(added, 303, "<|im", false);
        root.putObject("normalizer").put("type", "NFC");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Sequence");
        ArrayNode steps = pre.putArray("pretokenizers");
        ObjectNode split = steps.addObject();
        split.put("type", "Split");
        split.putObject("pattern").put("Regex", pattern);
        split.put("behavior", "Isolated");
        split.put("invert", false);
        ObjectNode bl = steps.addObject();
        bl.put("type", "ByteLevel");
        bl.put("add_prefix_space", false);
        bl.put("use_regex", false);
        root.putObject("decoder").put("type", "ByteLevel");
        root.putObject("post_processor").put("type", "ByteLevel");
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        ObjectNode vocab = model.putObject("vocab");
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(ByteLevel.charOf(b)), b);
        }
        ArrayNode merges = model.putArray("merges");
        for (int i = 0; i < MERGES.length; i++) {
            vocab.put(MERGES[i][0] + MERGES[i][1], 256 + i);
            if (arrayMerges) {
                merges.addArray().add(MERGES[i][0]).add(MERGES[i][1]);
            } else {
                merges.add(MERGES[i][0] + " " + MERGES[i][1]);
            }
        }
        return root.toString();
    }

    private static void addToken(ArrayNode added, int id, String content, boolean special) {
        ObjectNode t = added.addObject();
        t.put("id", id).put("content", content).put("single_word", false).put("lstrip", false).put("rstrip", false)
                .put("normalized", false).put("special", special);
    }

    static Tokenizer tiny() throws IOException {
        return Tokenizer.fromJson(tinyJson(QWEN_PATTERN, false));
    }

    @Test
    void byteLevelAlphabetIsGpt2s() {
        assertEquals('Ġ', ByteLevel.charOf(' '));
        assertEquals('Ċ', ByteLevel.charOf('\n'));
        assertEquals('!', ByteLevel.charOf('!'));
        assertEquals('Ā', ByteLevel.charOf(0));
        assertEquals('\u0142', ByteLevel.charOf(0xA0));
        assertEquals('\u0143', ByteLevel.charOf(0xAD), "the last of the 68 remapped bytes");
        for (int b = 0; b < 256; b++) {
            assertEquals(b, ByteLevel.byteOf(ByteLevel.charOf(b)));
        }
    }

    @Test
    void mergesApplyByRank() throws IOException {
        Tokenizer t = tiny();
        // "hello": he(0) -> ll(1) -> hell(2) -> hello(3). " world": Ġw(4), or(5), Ġwor(6), ld(7); Ġwor+ld is no merge.
        assertArrayEquals(new int[] {259, 262, 263}, t.encode("hello world"));
        assertArrayEquals(t.encode("hello world"), Tokenizer.fromJson(tinyJson(QWEN_PATTERN, true)).encode("hello world"),
                "[\"a\", \"b\"] merges mean the same as \"a b\"");
        assertEquals("hello world", t.decode(new int[] {259, 262, 263}));
    }

    @Test
    void qwenPatternSplitsDigitsOneByOneAndLlamaInThrees() throws IOException {
        assertArrayEquals(new int[] {'2', '0', '2', '4'}, tiny().encode("2024"), "\\p{N}: no merge across digits");
        Tokenizer llama = Tokenizer.fromJson(tinyJson(LLAMA3_PATTERN, false));
        assertArrayEquals(new int[] {264, '2', '4'}, llama.encode("2024"), "\\p{N}{1,3}: '202' + '4', and 2+0 merges");
    }

    @Test
    void contractionsAndWhitespaceRuns() throws IOException {
        Tokenizer t = tiny();
        assertArrayEquals(new int[] {'d', 'o', 'n', '\'', 't'}, t.encode("don't"));
        // "a  b": \s+(?!\S) takes one space, leaving " b" to merge as Ġb.
        assertArrayEquals(new int[] {'a', ' ', 265}, t.encode("a  b"));
        // U+3000 is whitespace for Oniguruma: pieces "a", "\u3000", "\u3000b", and byte 0x80 merges with b.
        assertArrayEquals(new int[] {'a', 0xE3, 0x80, 0x80, 0xE3, 0x80, 266}, t.encode("a\u3000\u3000b"));
        // "\n\n x": \s*[\r\n]+ takes the newlines, then " x".
        assertArrayEquals(new int[] {'\n', '\n', ' ', 'x'}, t.encode("\n\n x"));
    }

    @Test
    void addedTokensAreSplitOutFirstLongestMatchFirst() throws IOException {
        Tokenizer t = tiny();
        assertArrayEquals(new int[] {300, 259, 301}, t.encode("<|im_start|>hello<|im_end|>"));
        assertArrayEquals(new int[] {303, 'x'}, t.encode("<|imx"), "the shorter added token matches when the longer does not");
        assertArrayEquals(new int[] {302, 259}, t.encode("<think>hello"));
        assertEquals("<|im_start|>hello<|im_end|>", t.decode(new int[] {300, 259, 301}));
        assertEquals("<think>hello", t.decode(new int[] {300, 302, 259, 301}, true), "only special tokens are skipped");
        assertTrue(t.isSpecial(300) && !t.isSpecial(302));
    }

    @Test
    void nfcNormalizesAndOffsetsPointAtTheInput() throws IOException {
        Tokenizer t = tiny();
        // e + U+0301 becomes U+00E9 = C3 A9 before BPE.
        assertArrayEquals(new int[] {0xC3, 0xA9}, t.encode("e\u0301"));
        Encoding e = t.encodeWithOffsets("hi e\u0301!", false);
        assertArrayEquals(new int[] {'h', 'i', ' ', 0xC3, 0xA9, '!'}, e.ids());
        assertArrayEquals(new int[] {0, 1, 2, 3, 3, 5}, e.starts());
        // Like Hugging Face: the composed character keeps its base character's alignment; the
        // dropped combining mark has none (Qwen3TokenizerTest checks this against the library).
        assertArrayEquals(new int[] {1, 2, 3, 4, 4, 6}, e.ends());
        Encoding s = t.encodeWithOffsets("x<|im_end|>", false);
        assertArrayEquals(new int[] {0, 1}, s.starts());
        assertArrayEquals(new int[] {1, 11}, s.ends());
    }

    @Test
    void decodeReplacesInvalidUtf8LikeTheReference() throws IOException {
        Tokenizer t = tiny();
        assertEquals("\uFFFD", t.decode(new int[] {0xE2, 0x82}), "a truncated sequence is one replacement");
        assertEquals("\uFFFD\uFFFD\uFFFD", t.decode(new int[] {0xED, 0xA0, 0x80}), "an encoded surrogate is three");
        assertEquals("\uFFFD(", t.decode(new int[] {0xE2, '('}));
        assertEquals("😀", t.decode(new int[] {0xF0, 0x9F, 0x98, 0x80}));
    }

    @Test
    void roundTripsTheMultilingualSample() throws IOException {
        Tokenizer t = tiny();
        String sample = Files.readString(Path.of("src/test/resources/tokenizer/multilingual_sample.txt"), StandardCharsets.UTF_8);
        assertEquals(Normalizer.normalize(sample, Normalizer.Form.NFC), t.decode(t.encode(sample)));
    }

    @Test
    void theModelPatternsCompileInJava() {
        for (String p : new String[] {QWEN_PATTERN, LLAMA3_PATTERN, ByteLevelPreTokenizer.GPT2_PATTERN}) {
            Pattern compiled = SplitPreTokenizer.compileRegex(p);
            assertTrue(compiled.matcher("x").find());
        }
    }

    @Test
    void unsupportedComponentsAreNamed() {
        String json = tinyJson(QWEN_PATTERN, false).replace("\"type\":\"NFC\"", "\"type\":\"Lowercase\"");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.fromJson(json));
        assertTrue(e.getMessage().contains("normalizer type 'Lowercase' is not supported"), e.getMessage());
        String badMerge = tinyJson(QWEN_PATTERN, false).replace("\"h e\"", "\"h q\\u00ff\"");
        e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.fromJson(badMerge));
        assertTrue(e.getMessage().contains("merge #0"), e.getMessage());
    }
}
