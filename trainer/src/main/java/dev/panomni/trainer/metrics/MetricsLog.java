package dev.panomni.trainer.metrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.panomni.trainer.checkpoint.Durable;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Appends {@link StepMetrics} as JSON lines (snake_case keys, flushed per line) and keeps them in
 * memory for the plots. Opening for a resumed run drops the lines after the resume step, so the
 * file reads as one uninterrupted run.
 */
public final class MetricsLog implements Closeable {
    static final ObjectMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE).build();

    private final Path file;
    private final List<StepMetrics> records;
    private final BufferedWriter out;

    private MetricsLog(Path file, List<StepMetrics> records) throws IOException {
        this.file = file;
        this.records = records;
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }

    /**
     * Opens {@code file} for appending.
     *
     * @param resumeStep the step training resumes after: existing lines of later steps are
     *                   removed (they belong to the part of the run being replayed); use 0 for a
     *                   fresh run, which starts a new file
     */
    public static MetricsLog open(Path file, long resumeStep) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            List<StepMetrics> kept = new ArrayList<>();
            if (resumeStep > 0 && Files.exists(file)) {
                for (StepMetrics m : read(file)) {
                    if (m.step() <= resumeStep) {
                        kept.add(m);
                    }
                }
            }
            StringBuilder sb = new StringBuilder();
            for (StepMetrics m : kept) {
                sb.append(JSON.writeValueAsString(m)).append('\n');
            }
            Durable.writeAtomically(file, sb.toString().getBytes(StandardCharsets.UTF_8));
            return new MetricsLog(file, kept);
        } catch (IOException e) {
            throw new UncheckedIOException("opening metrics log " + file, e);
        }
    }

    /** Appends one record and flushes it. */
    public void append(StepMetrics m) {
        try {
            out.write(JSON.writeValueAsString(m));
            out.write('\n');
            out.flush();
            records.add(m);
        } catch (IOException e) {
            throw new UncheckedIOException("writing metrics log " + file, e);
        }
    }

    /** Every record of this run so far (including those kept from before a resume). */
    public List<StepMetrics> records() {
        return Collections.unmodifiableList(records);
    }

    public Path file() {
        return file;
    }

    /** Reads a metrics file; a torn last line (a crash mid-write) is ignored. */
    public static List<StepMetrics> read(Path file) throws IOException {
        List<StepMetrics> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            try {
                out.add(JSON.readValue(line, StepMetrics.class));
            } catch (IOException e) {
                if (i != lines.size() - 1) {
                    throw new IOException(file + ":" + (i + 1) + ": not a metrics record: " + e.getMessage(), e);
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
