package dev.panomni.tools.bindgen;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --check}: regenerating and comparing finds edits, missing files and stale generated files, nothing else. */
class CheckModeTest {
    private static Map<String, String> files;
    private static Path res;

    @BeforeAll
    static void generate() throws Exception {
        LibClangAvailable.assumeLibClang();
        res = LibClangAvailable.resources();
        files = Bindgen.generate(AllowList.read(res.resolve("sample.allow")), List.of(res));
    }

    @Test
    void generationIsDeterministic() throws Exception {
        assertEquals(files, Bindgen.generate(AllowList.read(res.resolve("sample.allow")), List.of(res)));
    }

    @Test
    void freshOutputMatchesAndEditsAreFound(@TempDir Path root) throws Exception {
        GeneratedSources.write(root, files, "sample");
        assertEquals(List.of(), GeneratedSources.compare(root, files, "sample"));

        Path handWritten = root.resolve("sample/bindings/SampleHelpers.java");
        Files.writeString(handWritten, "package sample.bindings;\nfinal class SampleHelpers {}\n");
        assertEquals(List.of(), GeneratedSources.compare(root, files, "sample"), "hand-written files are not ours");

        Path edited = root.resolve("sample/bindings/SampleConstants.java");
        Files.writeString(edited, Files.readString(edited).replace("1203", "1204"));
        Path stale = root.resolve("sample/bindings/old_struct.java");
        Files.writeString(stale, files.get("sample/bindings/div_t.java"));
        Files.delete(root.resolve("sample/bindings/div_t.java"));

        List<String> diffs = GeneratedSources.compare(root, files, "sample");
        assertEquals(3, diffs.size(), diffs.toString());
        assertTrue(diffs.get(0).startsWith("sample/bindings/SampleConstants.java: differs, first at line"), diffs.get(0));
        assertTrue(diffs.get(0).contains("1204") && diffs.get(0).contains("1203"), diffs.get(0));
        assertTrue(diffs.get(1).startsWith("sample/bindings/div_t.java: missing"), diffs.get(1));
        assertTrue(diffs.get(2).startsWith("sample/bindings/old_struct.java: generated earlier"), diffs.get(2));

        GeneratedSources.write(root, files, "sample");
        assertEquals(List.of(), GeneratedSources.compare(root, files, "sample"));
        assertTrue(Files.exists(handWritten) && !Files.exists(stale));
    }

    @Test
    void commandLineCheckExitsOneOnDifference(@TempDir Path root) throws Exception {
        String[] args = {"--check", "--out", root.toString(), "--include", res.toString(),
                res.resolve("sample.allow").toString()};
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(1, BindgenMain.run(args, new PrintStream(out), new PrintStream(err)));
        assertTrue(err.toString().contains("committed bindings differ"), err.toString());

        String[] write = {"--out", root.toString(), "--include", res.toString(), res.resolve("sample.allow").toString()};
        assertEquals(0, BindgenMain.run(write, new PrintStream(out), new PrintStream(err)));
        assertEquals(0, BindgenMain.run(args, new PrintStream(out), new PrintStream(err)), err.toString());
        assertTrue(out.toString().contains("sample: 9 files match"), out.toString());
    }
}
