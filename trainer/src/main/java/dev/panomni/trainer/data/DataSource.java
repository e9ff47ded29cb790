package dev.panomni.trainer.data;

import dev.panomni.trainer.config.OnBadLine;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * The documents of one JSONL file, streamed in file order, keeping only the lines of one split.
 * A training source starts over at the end of the file (a new epoch); a validation source ends.
 */
final class DataSource implements Closeable {
    private static final int SHOWN_BAD_LINES = 10;

    private final int index;
    private final String configuredPath;
    private final Path path;
    private final String fileName;
    private final JsonlParser parser;
    private final Split split;
    private final double valFraction;
    private final OnBadLine onBadLine;
    private final boolean cycle;
    private final Consumer<String> warnings;
    private final LineReader reader;
    /** A second reader for re-reading saved positions without moving the stream; opened on first use. */
    private LineReader randomAccess;

    private long epoch;
    private long docsThisEpoch;
    private long malformed;
    private long blank;
    private long otherSplit;

    DataSource(int index, String configuredPath, Path path, JsonlParser parser, Split split, double valFraction,
               OnBadLine onBadLine, boolean cycle, Consumer<String> warnings) {
        this.index = index;
        this.configuredPath = configuredPath;
        this.path = path;
        this.fileName = path.getFileName().toString();
        this.parser = parser;
        this.split = split;
        this.valFraction = valFraction;
        this.onBadLine = onBadLine;
        this.cycle = cycle;
        this.warnings = warnings;
        if (!Files.isRegularFile(path)) {
            throw new DataException("data file " + path + " does not exist or is not a file (data.files[" + index
                    + "].path = '" + configuredPath + "')");
        }
        try {
            reader = new LineReader(path);
        } catch (IOException e) {
            throw new DataException("cannot open data file " + path + ": " + e.getMessage(), e);
        }
    }

    /** The next document of this split, or null at the end of a non-cycling source. */
    RawDocument next() {
        try {
            while (true) {
                LineReader.Line line = reader.next();
                if (line == null) {
                    if (!cycle) {
                        return null;
                    }
                    if (docsThisEpoch == 0) {
                        throw new DataException(emptyMessage());
                    }
                    epoch++;
                    docsThisEpoch = 0;
                    reader.seek(0, 0);
                    continue;
                }
                if (line.text() != null && line.text().isBlank()) {
                    if (epoch == 0) {
                        blank++;
                    }
                    continue;
                }
                boolean heldOut = ValidationSplit.isHeldOut(fileName, line.number(), valFraction);
                if (heldOut != (split == Split.VALIDATION)) {
                    if (epoch == 0) {
                        otherSplit++;
                    }
                    continue;
                }
                DocRef ref = new DocRef(index, line.byteOffset(), line.number());
                RawDocument doc;
                try {
                    doc = parser.parse(ref, line.text());
                } catch (JsonlParser.MalformedLine e) {
                    badLine(line.number(), e.getMessage());
                    continue;
                }
                docsThisEpoch++;
                return doc;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + path, e);
        }
    }

    /** Reads the document at {@code ref} again (restoring a shuffle buffer or a pending document). */
    RawDocument readAt(DocRef ref) {
        try {
            if (randomAccess == null) {
                randomAccess = new LineReader(path);
            }
            LineReader r = randomAccess;
            r.seek(ref.byteOffset(), ref.line() - 1);
            LineReader.Line line = r.next();
            if (line == null) {
                throw new DataException(path + ":" + ref.line() + ": the saved data position is past the end of the "
                        + "file; the file changed since the checkpoint was written");
            }
            return parser.parse(ref, line.text());
        } catch (JsonlParser.MalformedLine e) {
            throw new DataException(path + ":" + ref.line() + ": the line the checkpoint refers to is no longer a "
                    + "valid document (" + e.getMessage() + "); the file changed since the checkpoint was written");
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + path, e);
        }
    }

    private void badLine(long number, String reason) {
        String where = path + ":" + number;
        if (onBadLine == OnBadLine.FAIL) {
            throw new DataException(where + ": malformed line: " + reason
                    + " (data.on_bad_line: skip would skip such lines and count them)");
        }
        if (epoch > 0) {
            return; // reported and counted in the first pass
        }
        malformed++;
        if (malformed <= SHOWN_BAD_LINES) {
            warnings.accept("data: skipping malformed line " + where + ": " + reason);
        }
        if (malformed == SHOWN_BAD_LINES) {
            warnings.accept("data: further malformed lines of " + path + " are skipped and counted without being shown");
        }
    }

    private String emptyMessage() {
        return "data file " + path + " has no training documents (" + reader.lineNumber() + " lines: " + malformed
                + " malformed, " + blank + " blank, " + otherSplit + " held out for validation)"
                + (otherSplit > 0 ? "; lower data.val_fraction or add documents" : "");
    }

    SourceState state() {
        return new SourceState(configuredPath, reader.position(), reader.lineNumber(), epoch, docsThisEpoch, malformed,
                blank, otherSplit);
    }

    void restore(SourceState s) {
        try {
            reader.seek(s.byteOffset(), s.line());
        } catch (IOException e) {
            throw new UncheckedIOException("seeking in " + path, e);
        }
        epoch = s.epoch();
        docsThisEpoch = s.docsThisEpoch();
        malformed = s.malformedLines();
        blank = s.blankLines();
        otherSplit = s.otherSplitLines();
    }

    String path() {
        return path.toString();
    }

    @Override
    public void close() {
        try {
            reader.close();
            if (randomAccess != null) {
                randomAccess.close();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
