package dev.panomni.modalities.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A real Llama 3 tokenizer.json (fetched through npm, see {@link NpmTokenizerFiles}): the Llama 3
 * Split pattern ({@code \p{N}{1,3}}), "a b" merges and {@code ignore_merges}, against the ids of
 * transformers.js ({@code llama3_transformersjs_ids.json}), and its chat template.
 */
class Llama3TokenizerTest {
    private static Tokenizer tokenizer;
    private static Path dir;

    @BeforeAll
    static void load() throws IOException {
        dir = NpmTokenizerFiles.LLAMA3.dir();
        if (dir != null) {
            tokenizer = Tokenizer.fromFile(dir.resolve("tokenizer.json"));
        }
    }

    private static Tokenizer llama3() {
        assumeTrue(tokenizer != null, NpmTokenizerFiles.LLAMA3::whyMissing);
        return tokenizer;
    }

    @Test
    void knownIds() {
        Tokenizer t = llama3();
        assertArrayEquals(new int[] {9906, 1917}, t.encode("Hello world"));
        assertArrayEquals(new int[] {128000, 9906}, t.encode("<|begin_of_text|>Hello"));
        assertEquals(3, t.encode("1234567").length, "digits go in threes: 123 456 7");
    }

    @Test
    void matchesTransformersJsAndRoundTrips() throws IOException {
        Tokenizer t = llama3();
        JsonNode fixture = new ObjectMapper().readTree(Qwen3TokenizerTest.resource("/tokenizer/llama3_transformersjs_ids.json"));
        for (JsonNode c : fixture.get("cases")) {
            String text = c.get("text").asText();
            int[] want = new int[c.get("ids").size()];
            for (int i = 0; i < want.length; i++) {
                want[i] = c.get("ids").get(i).asInt();
            }
            assertArrayEquals(want, t.encode(text, false), c.get("name").asText());
            assertEquals(text, t.decode(t.encode(text)), "no normalizer: decode inverts encode exactly");
        }
    }

    @Test
    void matchesHuggingFaceTokenizers() throws IOException {
        String json = Qwen3TokenizerTest.resource("/tokenizer/llama3_reference_ids.json");
        assumeTrue(json != null, "no /tokenizer/llama3_reference_ids.json yet: run bench/scripts/tokenizer_reference.py on a "
                + "host with the Hugging Face tokenizers library and commit its output");
        Tokenizer t = llama3();
        for (JsonNode c : new ObjectMapper().readTree(json).get("cases")) {
            String text = c.get("text").asText();
            int[] ids = new int[c.get("ids").size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = c.get("ids").get(i).asInt();
            }
            assertArrayEquals(ids, t.encode(text, false), c.get("name").asText());
            assertEquals(c.get("decoded").asText(), t.decode(ids, false), c.get("name").asText());
            assertEquals(c.get("decoded_skip_special").asText(), t.decode(ids, true), c.get("name").asText());
        }
    }

    @Test
    void chatTemplate() throws IOException {
        llama3();
        ChatTemplate template = ChatTemplate.fromTokenizerConfig(dir.resolve("tokenizer_config.json"));
        String out = template.render(List.of(ChatMessage.system("Be brief."), ChatMessage.user(" Hi! "),
                ChatMessage.assistant("Hello.")), false);
        // This template appends the assistant header whatever add_generation_prompt says.
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", out);
    }
}
