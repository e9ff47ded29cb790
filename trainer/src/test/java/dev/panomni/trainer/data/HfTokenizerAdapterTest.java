package dev.panomni.trainer.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Hugging Face tokenizer adapter on a small byte-level BPE fixture (256 byte tokens, merges
 * for "the", added tokens {@code <|endoftext|> <|im_start|> <|im_end|> <|bos|>}, a BOS
 * post-processor and a ChatML template).
 */
class HfTokenizerAdapterTest {
    private static final Path FIXTURE = Path.of("src/test/resources/hf-tokenizer");
    private static final int THE = 257;
    private static final int ENDOFTEXT = 259;
    private static final int IM_START = 260;
    private static final int IM_END = 261;
    private static final int BOS = 262;

    @TempDir
    Path dir;

    @Test
    void documentsGetTheModelsBosAndEos() {
        HfTokenizerAdapter t = HfTokenizerAdapter.load(FIXTURE);
        assertEquals(263, t.vocabSize());
        assertEquals(IM_END, t.eosId(), "eos_token of tokenizer_config.json");
        assertEquals(ENDOFTEXT, t.padId(), "pad_token of tokenizer_config.json");
        assertArrayEquals(new int[] {THE}, t.encode("the"));
        int[] doc = t.encodeDocument("the cat");
        assertEquals(BOS, doc[0]);
        assertEquals(IM_END, doc[doc.length - 1]);
        assertEquals("the cat", t.decode(Arrays.copyOfRange(doc, 1, doc.length - 1)));
        int[] prompt = t.encodePrompt("the");
        assertArrayEquals(new int[] {BOS, THE}, prompt);
    }

    @Test
    void chatTurnsAreRenderedWithTheTemplateAndOnlyRepliesAreTargets() {
        HfTokenizerAdapter t = HfTokenizerAdapter.load(FIXTURE.resolve("tokenizer.json"));
        ChatEncoding e = t.applyChatTemplate(List.of(new ChatMessage("user", "hi"), new ChatMessage("assistant", "the end")));
        assertEquals(IM_START, e.ids()[0]);
        StringBuilder targets = new StringBuilder();
        for (int i = 0; i < e.ids().length; i++) {
            if (e.lossMask()[i]) {
                targets.append(t.decode(new int[] {e.ids()[i]}));
            }
        }
        assertEquals("the end<|im_end|>", targets.toString(), "the reply and the token that ends it");
        int[] gen = t.encodeChatPrompt(List.of(new ChatMessage("user", "hi")));
        assertEquals("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", t.decode(gen));
        assertEquals(IM_END, t.endOfTurnId());
    }

    @Test
    void missingFilesAndTemplatesAreClearErrors() throws Exception {
        assertTrue(assertThrows(DataException.class, () -> HfTokenizerAdapter.load(dir)).getMessage()
                .contains("no tokenizer at"));
        Files.copy(FIXTURE.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        HfTokenizerAdapter noTemplate = HfTokenizerAdapter.load(dir);
        assertEquals(ENDOFTEXT, noTemplate.eosId(), "without a config, a conventional end token of the vocabulary");
        DataException e = assertThrows(DataException.class,
                () -> noTemplate.applyChatTemplate(List.of(new ChatMessage("user", "x"))));
        assertTrue(e.getMessage().contains("has no chat template"), e.getMessage());
    }
}
