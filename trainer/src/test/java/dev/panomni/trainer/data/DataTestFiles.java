package dev.panomni.trainer.data;

import dev.panomni.trainer.config.DataFile;
import dev.panomni.trainer.config.DataFormat;
import dev.panomni.trainer.config.OnBadLine;
import dev.panomni.trainer.config.Overlong;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Helpers that write small JSONL files and build loader options for tests. */
final class DataTestFiles {
    private DataTestFiles() {
    }

    static Path textFile(Path dir, String name, String... texts) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String t : texts) {
            sb.append("{\"text\": \"").append(t).append("\"}\n");
        }
        Path p = dir.resolve(name);
        Files.writeString(p, sb.toString(), StandardCharsets.UTF_8);
        return p;
    }

    static LoaderOptions options(List<Path> files, double[] weights, int seqLen, int microBatch) {
        List<DataFile> df = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            df.add(new DataFile(files.get(i).toString(), weights[i]));
        }
        return new LoaderOptions(df, DataFormat.TEXT, seqLen, microBatch, null, true, 42, 1, 0.0, OnBadLine.SKIP,
                Overlong.SPLIT);
    }

    static LoaderOptions options(Path file, int seqLen, int microBatch) {
        return options(List.of(file), new double[] {1}, seqLen, microBatch);
    }

    static LoaderOptions with(LoaderOptions o, Integer maxTokens, boolean pack, long seed, int shuffle, double val,
                              OnBadLine bad, Overlong overlong) {
        return new LoaderOptions(o.files(), o.format(), o.seqLen(), o.microBatchSize(), maxTokens, pack, seed, shuffle,
                val, bad, overlong);
    }

    static LoaderOptions chat(LoaderOptions o) {
        return new LoaderOptions(o.files(), DataFormat.CHAT, o.seqLen(), o.microBatchSize(), o.maxTokensPerBatch(),
                o.pack(), o.seed(), o.shuffleBuffer(), o.valFraction(), o.onBadLine(), o.overlong());
    }

    /** The documents of a batch decoded as text (the byte tokenizer's ids), one per cu_seqlens segment. */
    static List<String> documents(Batch b) {
        List<String> out = new ArrayList<>();
        ByteTokenizer tok = new ByteTokenizer();
        for (int d = 0; d < b.documents(); d++) {
            out.add(tok.decode(Arrays.copyOfRange(b.inputIds(), b.cuSeqlens()[d], b.cuSeqlens()[d + 1])));
        }
        return out;
    }

    static List<Batch> take(DataLoader loader, int n) {
        List<Batch> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(loader.next());
        }
        return out;
    }
}
