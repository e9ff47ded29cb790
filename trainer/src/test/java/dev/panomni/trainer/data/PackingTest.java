package dev.panomni.trainer.data;

import dev.panomni.trainer.config.OnBadLine;
import dev.panomni.trainer.config.Overlong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.panomni.trainer.data.DataTestFiles.documents;
import static dev.panomni.trainer.data.DataTestFiles.options;
import static dev.panomni.trainer.data.DataTestFiles.textFile;
import static dev.panomni.trainer.data.DataTestFiles.with;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PackingTest {
    private static final int E = ByteTokenizer.EOS;
    private static final int X = Batch.IGNORE_INDEX;

    @TempDir
    Path dir;

    private DataLoader open(LoaderOptions o) {
        return DataLoader.open(o, new ByteTokenizer(), Split.TRAIN, w -> { });
    }

    @Test
    void documentsArePackedWithBoundariesPositionsAndShiftedLabels() throws Exception {
        Path f = textFile(dir, "a.jsonl", "abc", "defgh", "ij", "klmnop");
        try (DataLoader loader = open(options(f, 10, 2))) {
            Batch b = loader.next();
            // rows: [abc<eos> defgh<eos>] [ij<eos> klmnop<eos>], each exactly 10 tokens
            assertArrayEquals(new int[] {0, 10, 20}, b.rowOffsets());
            assertArrayEquals(new int[] {0, 4, 10, 13, 20}, b.cuSeqlens());
            assertArrayEquals(new int[] {'a', 'b', 'c', E, 'd', 'e', 'f', 'g', 'h', E,
                'i', 'j', E, 'k', 'l', 'm', 'n', 'o', 'p', E}, b.inputIds());
            assertArrayEquals(new int[] {0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 0, 1, 2, 0, 1, 2, 3, 4, 5, 6}, b.positionIds());
            assertArrayEquals(new int[] {'b', 'c', E, X, 'e', 'f', 'g', 'h', E, X,
                'j', E, X, 'l', 'm', 'n', 'o', 'p', E, X}, b.labels());
            assertEquals(7, b.maxSeqlen());
            assertEquals(16, b.targetTokens());
        }
    }

    @Test
    void aDocumentThatDoesNotFitStartsTheNextRowOrBatch() throws Exception {
        Path f = textFile(dir, "a.jsonl", "abcde", "fghij", "k");
        try (DataLoader loader = open(options(f, 8, 1))) {
            Batch b1 = loader.next();
            assertEquals(List.of("abcde<|endoftext|>"), documents(b1), "6 + 6 > 8: the second document waits");
            Batch b2 = loader.next();
            assertEquals(List.of("fghij<|endoftext|>", "k<|endoftext|>"), documents(b2));
        }
    }

    @Test
    void withoutPackingEachDocumentHasItsOwnRow() throws Exception {
        Path f = textFile(dir, "a.jsonl", "ab", "cd", "ef");
        LoaderOptions o = with(options(f, 16, 2), null, false, 42, 1, 0, OnBadLine.SKIP, Overlong.SPLIT);
        try (DataLoader loader = open(o)) {
            Batch b = loader.next();
            assertArrayEquals(new int[] {0, 3, 6}, b.rowOffsets());
            assertArrayEquals(new int[] {0, 3, 6}, b.cuSeqlens());
            Batch.Padded p = b.padded(ByteTokenizer.PAD);
            assertEquals(2, p.rows());
            assertEquals(3, p.width());
            assertArrayEquals(new int[] {'b', E, X, 'd', E, X}, p.labels());
        }
    }

    @Test
    void overlongDocumentsAreSplitIntoPiecesWithPositionsRestarting() throws Exception {
        Path f = textFile(dir, "a.jsonl", "abcdefghijklmnopqrstuvwx", "yz"); // 25 tokens with <eos>
        LoaderOptions o = with(options(f, 10, 4), null, false, 42, 1, 0, OnBadLine.SKIP, Overlong.SPLIT);
        try (DataLoader loader = open(o)) {
            Batch b = loader.next();
            assertArrayEquals(new int[] {0, 10, 20, 25, 28}, b.cuSeqlens());
            assertEquals(List.of("abcdefghij", "klmnopqrst", "uvwx<|endoftext|>", "yz<|endoftext|>"), documents(b));
            assertEquals(0, b.positionIds()[10]);
            assertEquals(4, b.positionIds()[24]);
            assertEquals(X, b.labels()[9], "a piece's last token has no target inside the piece");
            assertEquals('k' + 1, b.labels()[10]);
            assertEquals(1, loader.stats().splitDocuments());
        }
    }

    @Test
    void overlongDocumentsAreTruncatedWhenConfigured() throws Exception {
        Path f = textFile(dir, "a.jsonl", "abcdefghijklmnopqrstuvwx", "yz");
        LoaderOptions o = with(options(f, 10, 2), null, false, 42, 1, 0, OnBadLine.SKIP, Overlong.TRUNCATE);
        try (DataLoader loader = open(o)) {
            Batch b = loader.next();
            assertEquals(List.of("abcdefghij", "yz<|endoftext|>"), documents(b));
            assertEquals(1, loader.stats().truncatedDocuments());
            assertEquals(15, loader.stats().droppedTokens());
        }
    }

    @Test
    void dynamicBatchesStayWithinTheTokenBudget() throws Exception {
        String[] texts = new String[40];
        for (int i = 0; i < texts.length; i++) {
            texts[i] = "x".repeat(1 + (i * 7) % 13);
        }
        Path f = textFile(dir, "a.jsonl", texts);
        LoaderOptions o = with(options(f, 16, 1), 40, true, 42, 1, 0, OnBadLine.SKIP, Overlong.SPLIT);
        try (DataLoader loader = open(o)) {
            int maxRows = 0;
            for (int i = 0; i < 30; i++) {
                Batch b = loader.next();
                assertTrue(b.tokens() <= 40, "batch of " + b.tokens() + " tokens");
                assertTrue(b.tokens() > 40 - 16, "a batch is only cut when the next piece does not fit: " + b.tokens());
                for (int r = 0; r < b.rows(); r++) {
                    assertTrue(b.rowOffsets()[r + 1] - b.rowOffsets()[r] <= 16);
                }
                maxRows = Math.max(maxRows, b.rows());
            }
            assertTrue(maxRows >= 3, "the row count follows the token budget, saw at most " + maxRows);
        }
    }

    @Test
    void chatLabelsAreOnlyOnAssistantTokens() throws Exception {
        Path f = dir.resolve("chat.jsonl");
        Files.writeString(f, """
                {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "2+2?"}, \
                {"role": "assistant", "content": "4"}, {"role": "user", "content": "3+3?"}, {"role": "assistant", "content": "6"}]}
                """);
        LoaderOptions o = DataTestFiles.chat(options(f, 128, 1));
        ByteTokenizer tok = new ByteTokenizer();
        try (DataLoader loader = open(o)) {
            Batch b = loader.next();
            int[] ids = b.inputIds();
            StringBuilder targets = new StringBuilder();
            for (int i = 0; i < ids.length; i++) {
                if (b.labels()[i] != X) {
                    assertEquals(ids[i + 1], b.labels()[i], "labels are the next token");
                    targets.append(tok.decode(new int[] {b.labels()[i]}));
                }
            }
            assertEquals("4<|im_end|>6<|im_end|>", targets.toString(), "only assistant replies and their end are targets");
            assertTrue(tok.decode(ids).startsWith("<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\n"));
        }
    }

    @Test
    void chatTemplateMaskMarksAssistantContentAndEndOfTurn() {
        ChatEncoding e = new ByteTokenizer().applyChatTemplate(List.of(new ChatMessage("user", "hi"),
                new ChatMessage("assistant", "yo")));
        // <s>user\nhi<e>\n <s>assistant\nyo<e>\n
        int start = 1 + 5 + 2 + 1 + 1 + 1 + 10; // position of 'y'
        for (int i = 0; i < e.ids().length; i++) {
            boolean expected = i >= start && i < start + 3;
            assertEquals(expected, e.lossMask()[i], "token " + i);
        }
        assertEquals('y', e.ids()[start]);
        assertEquals(ByteTokenizer.IM_END, e.ids()[start + 2]);
    }

    @Test
    void documentsWithoutTargetsAreSkipped() throws Exception {
        Path f = dir.resolve("c.jsonl");
        Files.writeString(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"hello\"}]}\n"
                + "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"a\"}]}\n");
        LoaderOptions o = with(DataTestFiles.chat(options(f, 64, 1)), null, false, 42, 1, 0, OnBadLine.SKIP,
                Overlong.SPLIT);
        try (DataLoader loader = open(o)) {
            Batch b = loader.next();
            assertEquals(1, b.documents());
            assertTrue(new ByteTokenizer().decode(b.inputIds()).contains("assistant\na"));
            assertTrue(loader.stats().skippedDocuments() >= 1);
        }
    }

    @Test
    void validationLoaderEndsAfterItsDocuments() throws Exception {
        String[] texts = new String[200];
        for (int i = 0; i < texts.length; i++) {
            texts[i] = "doc" + i;
        }
        Path f = textFile(dir, "a.jsonl", texts);
        LoaderOptions o = with(options(f, 32, 4), null, true, 42, 16, 0.2, OnBadLine.SKIP, Overlong.SPLIT);
        java.util.Set<String> val = new java.util.HashSet<>();
        try (DataLoader v = DataLoader.open(o, new ByteTokenizer(), Split.VALIDATION, w -> { })) {
            for (Batch b = v.next(); b != null; b = v.next()) {
                val.addAll(documents(b));
            }
            assertNull(v.next());
        }
        java.util.Set<String> train = new java.util.HashSet<>();
        try (DataLoader t = open(o)) {
            for (int i = 0; i < 200; i++) {
                train.addAll(documents(t.next()));
            }
        }
        assertTrue(val.size() > 20 && val.size() < 60, "about 20% held out, got " + val.size());
        assertEquals(200, val.size() + train.size(), "every document is in exactly one split");
        for (String d : val) {
            assertTrue(!train.contains(d), d + " is in both splits");
        }
    }
}
