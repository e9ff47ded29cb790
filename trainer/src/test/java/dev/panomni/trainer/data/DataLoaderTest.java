package dev.panomni.trainer.data;

import dev.panomni.trainer.config.OnBadLine;
import dev.panomni.trainer.config.Overlong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.panomni.trainer.data.DataTestFiles.documents;
import static dev.panomni.trainer.data.DataTestFiles.options;
import static dev.panomni.trainer.data.DataTestFiles.take;
import static dev.panomni.trainer.data.DataTestFiles.textFile;
import static dev.panomni.trainer.data.DataTestFiles.with;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DataLoaderTest {
    @TempDir
    Path dir;

    private static DataLoader open(LoaderOptions o, List<String> warnings) {
        return DataLoader.open(o, new ByteTokenizer(), Split.TRAIN, warnings::add);
    }

    private Path numbered(String name, String prefix, int n) throws Exception {
        String[] texts = new String[n];
        for (int i = 0; i < n; i++) {
            texts[i] = prefix + i + " " + "w".repeat(i % 11);
        }
        return textFile(dir, name, texts);
    }

    @Test
    void filesAreMixedInProportionToTheirWeights() throws Exception {
        Path a = numbered("a.jsonl", "A", 50);
        Path b = numbered("b.jsonl", "B", 50);
        LoaderOptions o = options(List.of(a, b), new double[] {3, 1}, 16, 4);
        o = with(o, null, false, 7, 1, 0, OnBadLine.SKIP, Overlong.TRUNCATE);
        int fromA = 0;
        int total = 0;
        List<String> order = new ArrayList<>();
        try (DataLoader loader = open(o, new ArrayList<>())) {
            for (int i = 0; i < 1000; i++) {
                for (String d : documents(loader.next())) {
                    order.add(d);
                    total++;
                    if (d.startsWith("A")) {
                        fromA++;
                    }
                }
            }
        }
        double share = fromA / (double) total;
        assertEquals(0.75, share, 0.02, "share of documents from the weight-3 file");
        List<String> again = new ArrayList<>();
        try (DataLoader loader = open(o, new ArrayList<>())) {
            while (again.size() < order.size()) {
                again.addAll(documents(loader.next()));
            }
        }
        assertEquals(order, again, "the same seed gives the same interleave");
        List<String> other = new ArrayList<>();
        try (DataLoader loader = open(with(o, null, false, 8, 1, 0, OnBadLine.SKIP, Overlong.TRUNCATE), new ArrayList<>())) {
            while (other.size() < 200) {
                other.addAll(documents(loader.next()));
            }
        }
        assertNotEquals(order.subList(0, 200), other.subList(0, 200), "another seed gives another interleave");
    }

    @Test
    void shufflingIsSeededAndDrawsEveryDocumentAlike() throws Exception {
        Path a = numbered("a.jsonl", "A", 40);
        LoaderOptions o = with(options(a, 64, 1), null, false, 11, 8, 0, OnBadLine.SKIP, Overlong.SPLIT);
        List<String> first = new ArrayList<>();
        try (DataLoader loader = open(o, new ArrayList<>())) {
            for (int i = 0; i < 400; i++) {
                first.addAll(documents(loader.next()));
            }
        }
        List<String> fileOrder = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            fileOrder.add("A" + i + " " + "w".repeat(i % 11) + "<|endoftext|>");
        }
        assertNotEquals(fileOrder, first.subList(0, 40), "documents come shuffled");
        java.util.Map<String, Integer> counts = new java.util.HashMap<>();
        first.forEach(d -> counts.merge(d, 1, Integer::sum));
        assertEquals(40, counts.size());
        for (var e : counts.entrySet()) {
            assertTrue(e.getValue() >= 7 && e.getValue() <= 13, e.getKey() + " drawn " + e.getValue() + " times in 10 epochs");
        }
        List<String> again = new ArrayList<>();
        try (DataLoader loader = open(o, new ArrayList<>())) {
            for (int i = 0; i < 400; i++) {
                again.addAll(documents(loader.next()));
            }
        }
        assertEquals(first, again, "the same seed gives the same order");
    }

    @Test
    void malformedLinesAreReportedWithFileAndLineAndSkipped() throws Exception {
        Path f = dir.resolve("bad.jsonl");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes("{\"text\": \"ok1\"}\n{not json\n\n{\"txt\": \"x\"}\n".getBytes(StandardCharsets.UTF_8));
        bytes.writeBytes(new byte[] {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xC3, '"', '}', '\n'});
        bytes.writeBytes("[1, 2]\n{\"text\": 5}\n{\"text\": \"ok2\"}".getBytes(StandardCharsets.UTF_8));
        Files.write(f, bytes.toByteArray());
        List<String> warnings = new ArrayList<>();
        LoaderOptions o = options(f, 64, 1);
        List<String> docs = new ArrayList<>();
        try (DataLoader loader = open(o, warnings)) {
            docs.addAll(documents(loader.next()));
            assertEquals(5, loader.malformedLines());
        }
        assertEquals(List.of("ok1<|endoftext|>", "ok2<|endoftext|>"), docs.subList(0, 2));
        assertEquals(5, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains(f + ":2: not valid JSON"), warnings.get(0));
        assertTrue(warnings.get(1).contains(f + ":4: no \"text\" field"), warnings.get(1));
        assertTrue(warnings.get(2).contains(f + ":5: not valid UTF-8"), warnings.get(2));
        assertTrue(warnings.get(3).contains(f + ":6: expected a JSON object"), warnings.get(3));
        assertTrue(warnings.get(4).contains(f + ":7: \"text\" must be a string"), warnings.get(4));
    }

    @Test
    void malformedLineIsFatalWhenConfigured() throws Exception {
        Path f = dir.resolve("bad.jsonl");
        Files.writeString(f, "{\"text\": \"ok\"}\n{\"text\": \"broken\n");
        LoaderOptions o = with(options(f, 64, 4), null, true, 1, 1, 0, OnBadLine.FAIL, Overlong.SPLIT);
        try (DataLoader loader = open(o, new ArrayList<>())) {
            DataException e = assertThrows(DataException.class, loader::next);
            assertTrue(e.getMessage().startsWith(f + ":2: malformed line"), e.getMessage());
            assertTrue(e.getMessage().contains("data.on_bad_line: skip"), e.getMessage());
        }
    }

    @Test
    void chatLinesAreCheckedForRolesAndFields() throws Exception {
        Path f = dir.resolve("chat.jsonl");
        Files.writeString(f, """
                {"messages": [{"role": "robot", "content": "x"}]}
                {"messages": []}
                {"messages": [{"role": "user"}]}
                {"text": "plain"}
                {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
                """);
        List<String> warnings = new ArrayList<>();
        try (DataLoader loader = open(DataTestFiles.chat(options(f, 64, 1)), warnings)) {
            loader.next();
        }
        assertTrue(warnings.get(0).contains(":1: messages[0] has role 'robot'; allowed: system, user, assistant, tool"),
                warnings.get(0));
        assertTrue(warnings.get(1).contains(":2: \"messages\" is empty"), warnings.get(1));
        assertTrue(warnings.get(2).contains(":3: messages[0] must be {\"role\": string, \"content\": string}"));
        assertTrue(warnings.get(3).contains(":4: no \"messages\" field (data.format is chat)"), warnings.get(3));
    }

    @Test
    void emptyInputIsAClearError() throws Exception {
        Path empty = dir.resolve("empty.jsonl");
        Files.writeString(empty, "\n\n");
        try (DataLoader loader = open(options(empty, 64, 1), new ArrayList<>())) {
            DataException e = assertThrows(DataException.class, loader::next);
            assertTrue(e.getMessage().contains(empty + " has no training documents (2 lines: 0 malformed, 2 blank"),
                    e.getMessage());
        }
        Path junk = dir.resolve("junk.jsonl");
        Files.writeString(junk, "nope\n");
        try (DataLoader loader = open(options(junk, 64, 1), new ArrayList<>())) {
            assertTrue(assertThrows(DataException.class, loader::next).getMessage().contains("1 malformed"));
        }
        DataException none = assertThrows(DataException.class, () -> open(options(List.of(), new double[0], 64, 1),
                new ArrayList<>()));
        assertTrue(none.getMessage().contains("data.files is empty"), none.getMessage());
        DataException missing = assertThrows(DataException.class, () -> open(options(dir.resolve("nope.jsonl"), 64, 1),
                new ArrayList<>()));
        assertTrue(missing.getMessage().contains("nope.jsonl does not exist"), missing.getMessage());
        assertTrue(missing.getMessage().contains("data.files[0].path"), missing.getMessage());
    }

    @Test
    void allLinesHeldOutIsExplained() throws Exception {
        Path f = textFile(dir, "one.jsonl", "only");
        // line 1 of one.jsonl falls in the validation split at fraction 0.999
        LoaderOptions o = with(options(f, 64, 1), null, true, 1, 1, 0.999, OnBadLine.SKIP, Overlong.SPLIT);
        try (DataLoader loader = open(o, new ArrayList<>())) {
            DataException e = assertThrows(DataException.class, loader::next);
            assertTrue(e.getMessage().contains("1 held out for validation"), e.getMessage());
            assertTrue(e.getMessage().contains("lower data.val_fraction"), e.getMessage());
        }
    }

    @Test
    void resumedLoaderContinuesExactlyLikeAnUninterruptedOne() throws Exception {
        // Small files so the run crosses several epochs; a shuffle buffer, weights, packing, long
        // documents being split, chat and text mixed in one stream of batches.
        Path a = numbered("a.jsonl", "A", 23);
        StringBuilder longDocs = new StringBuilder();
        for (int i = 0; i < 9; i++) {
            longDocs.append("{\"text\": \"L").append(i).append(' ').append("z".repeat(10 + 9 * i)).append("\"}\n");
        }
        longDocs.append("garbage line\n");
        Path b = dir.resolve("b.jsonl");
        Files.writeString(b, longDocs.toString());
        LoaderOptions o = with(options(List.of(a, b), new double[] {2, 1}, 24, 3), null, true, 99, 8, 0.1,
                OnBadLine.SKIP, Overlong.SPLIT);
        for (int n : new int[] {0, 1, 7, 19}) {
            List<Batch> uninterrupted;
            try (DataLoader loader = open(o, new ArrayList<>())) {
                uninterrupted = take(loader, n + 25);
            }
            String json;
            try (DataLoader first = open(o, new ArrayList<>())) {
                assertEquals(uninterrupted.subList(0, n), take(first, n));
                json = first.state().toJson();
            }
            try (DataLoader resumed = open(o, new ArrayList<>())) {
                resumed.restore(DataLoaderState.fromJson(json));
                assertEquals(uninterrupted.subList(n, n + 25), take(resumed, 25), "after restoring at batch " + n);
                assertEquals(n + 25, resumed.stats().batches());
            }
        }
    }

    @Test
    void dynamicBatchesResumeExactlyToo() throws Exception {
        Path a = numbered("a.jsonl", "A", 31);
        LoaderOptions o = with(options(a, 16, 1), 50, true, 5, 4, 0, OnBadLine.SKIP, Overlong.TRUNCATE);
        List<Batch> all;
        try (DataLoader loader = open(o, new ArrayList<>())) {
            all = take(loader, 30);
        }
        try (DataLoader first = open(o, new ArrayList<>()); DataLoader second = open(o, new ArrayList<>())) {
            take(first, 13);
            second.restore(DataLoaderState.fromJson(first.state().toJson()));
            assertEquals(all.subList(13, 30), take(second, 17));
        }
    }

    @Test
    void stateOfOtherDataOptionsIsRejected() throws Exception {
        Path a = numbered("a.jsonl", "A", 10);
        LoaderOptions o = options(a, 32, 2);
        DataLoaderState s;
        try (DataLoader loader = open(o, new ArrayList<>())) {
            loader.next();
            s = loader.state();
        }
        LoaderOptions reseeded = with(o, null, true, 43, 1, 0, OnBadLine.SKIP, Overlong.SPLIT);
        try (DataLoader other = open(reseeded, new ArrayList<>())) {
            DataException e = assertThrows(DataException.class, () -> other.restore(s));
            assertTrue(e.getMessage().contains("seed=42") && e.getMessage().contains("seed=43"), e.getMessage());
        }
    }

    @Test
    void changedFileIsDetectedOnRestore() throws Exception {
        Path a = numbered("a.jsonl", "A", 12);
        LoaderOptions o = with(options(a, 32, 1), null, true, 3, 4, 0, OnBadLine.SKIP, Overlong.SPLIT);
        DataLoaderState s;
        try (DataLoader loader = open(o, new ArrayList<>())) {
            loader.next();
            s = loader.state();
        }
        Files.writeString(a, "{\"text\": \"short\"}\n");
        try (DataLoader other = open(o, new ArrayList<>())) {
            DataException e = assertThrows(DataException.class, () -> other.restore(s));
            assertTrue(e.getMessage().contains("changed since the checkpoint"), e.getMessage());
        }
    }

    @Test
    void lineReaderHandlesLongLinesCrLfBomAndAMissingFinalNewline() throws Exception {
        Path f = dir.resolve("lines.txt");
        String longLine = "x".repeat(200_000);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
        out.writeBytes(("first\r\n" + longLine + "\nlast").getBytes(StandardCharsets.UTF_8));
        Files.write(f, out.toByteArray());
        try (LineReader r = new LineReader(f)) {
            LineReader.Line l1 = r.next();
            assertEquals("first", l1.text());
            assertEquals(3, l1.byteOffset());
            LineReader.Line l2 = r.next();
            assertEquals(longLine, l2.text());
            long afterTwo = r.position();
            assertEquals("last", r.next().text());
            assertNull(r.next());
            r.seek(afterTwo, 2);
            LineReader.Line again = r.next();
            assertEquals("last", again.text());
            assertEquals(3, again.number());
            r.seek(l2.byteOffset(), 1);
            assertEquals(longLine, r.next().text());
        }
    }

    @Test
    void validationSplitIsStableAndNearTheFraction() {
        int held = 0;
        for (int line = 1; line <= 10_000; line++) {
            boolean h = ValidationSplit.isHeldOut("data.jsonl", line, 0.05);
            assertEquals(h, ValidationSplit.isHeldOut("data.jsonl", line, 0.05));
            held += h ? 1 : 0;
        }
        assertEquals(500, held, 70);
        assertTrue(!ValidationSplit.isHeldOut("data.jsonl", 1, 0.0));
    }
}
