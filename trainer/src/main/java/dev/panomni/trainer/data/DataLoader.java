package dev.panomni.trainer.data;

import dev.panomni.trainer.config.DataFile;
import dev.panomni.trainer.config.Overlong;

import java.io.Closeable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Streams micro-batches of packed sequences from JSONL files.
 *
 * <p>Training: each document is drawn from a file picked at random in proportion to the files'
 * weights; a shuffle buffer of {@code shuffle_buffer} documents, sampled with a seeded stream,
 * decorrelates neighbours; files start over when exhausted (epochs). Validation: the held-out
 * lines of each file in file order, once, unshuffled. Documents are tokenized after shuffling,
 * cut to {@code seq_len} (truncated or split) and packed greedily into rows and batches.
 *
 * <p>Every random choice comes from a counter-based stream, and every buffered document is known
 * by its file position, so {@link #state()} is small and {@link #restore} continues exactly: the
 * batches after a restore equal those an uninterrupted loader would have produced.
 */
public final class DataLoader implements Closeable {
    private final LoaderOptions options;
    private final TokenizerAdapter tokenizer;
    private final Split split;
    private final List<DataSource> sources = new ArrayList<>();
    private final double[] cumulativeWeights;
    private final CounterRandom mixer;
    private final CounterRandom shuffle;
    private final List<RawDocument> buffer = new ArrayList<>();
    private final int bufferCapacity;

    private int currentFile;
    private Document pendingDoc;
    private int pendingStart;
    private long batches;
    private long documents;
    private long tokens;
    private long targetTokens;
    private long truncatedDocuments;
    private long droppedTokens;
    private long splitDocuments;
    private long skippedDocuments;

    private DataLoader(LoaderOptions options, Path baseDir, TokenizerAdapter tokenizer, Split split,
                       Consumer<String> warnings) {
        this.options = options;
        this.tokenizer = tokenizer;
        this.split = split;
        if (options.files().isEmpty()) {
            throw new DataException("no input: data.files is empty; list JSONL files with {path, weight}");
        }
        cumulativeWeights = new double[options.files().size()];
        double total = 0;
        try {
            for (int i = 0; i < options.files().size(); i++) {
                DataFile f = options.files().get(i);
                total += f.weight();
                cumulativeWeights[i] = total;
                Path file = baseDir == null ? Path.of(f.path()) : baseDir.resolve(f.path());
                sources.add(new DataSource(i, f.path(), file, new JsonlParser(options.format()), split,
                        options.valFraction(), options.onBadLine(), split == Split.TRAIN, warnings));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        mixer = new CounterRandom(options.seed(), 1);
        shuffle = new CounterRandom(options.seed(), 2);
        bufferCapacity = split == Split.TRAIN ? options.shuffleBuffer() : 1;
    }

    /**
     * Opens a loader over {@code options.files()}.
     *
     * @param warnings where malformed-line reports go (skip mode), e.g. {@code System.err::println}
     * @throws DataException when there are no files or a file is missing
     */
    public static DataLoader open(LoaderOptions options, TokenizerAdapter tokenizer, Split split,
                                  Consumer<String> warnings) {
        return new DataLoader(options, null, tokenizer, split, warnings);
    }

    /**
     * Opens a loader whose relative file paths are resolved against {@code baseDir} (the config
     * file's folder). The paths as written, not as resolved, identify the files in a saved state,
     * so a run folder can move between a save and a resume.
     */
    public static DataLoader open(LoaderOptions options, Path baseDir, TokenizerAdapter tokenizer, Split split,
                                  Consumer<String> warnings) {
        return new DataLoader(options, baseDir, tokenizer, split, warnings);
    }

    /**
     * The next micro-batch. A training loader never ends (files are read again); a validation
     * loader returns null after its last batch.
     *
     * @throws DataException for a malformed line in fail mode, or a file with no documents
     */
    public Batch next() {
        int seqLen = options.seqLen();
        Integer budget = options.maxTokensPerBatch();
        IntArray ids = new IntArray();
        IntArray labels = new IntArray();
        IntArray positions = new IntArray();
        IntArray cu = new IntArray();
        IntArray rows = new IntArray();
        cu.add(0);
        int rowLen = 0;
        int total = 0;
        int maxSeqlen = 0;
        while (true) {
            if (pendingDoc == null) {
                pendingDoc = nextDocument();
                pendingStart = 0;
                if (pendingDoc == null) {
                    break;
                }
            }
            int n = pendingDoc.ids().length;
            int len = Math.min(n - pendingStart, seqLen);
            boolean fitsBatch = budget == null || total + len <= budget;
            boolean fitsRow = options.pack() && rows.size() > 0 && rowLen + len <= seqLen;
            boolean canOpenRow = budget != null || rows.size() < options.microBatchSize();
            if (!fitsBatch || !(fitsRow || canOpenRow)) {
                break;
            }
            if (!fitsRow) {
                rows.add(total);
                rowLen = 0;
            }
            appendPiece(pendingDoc, pendingStart, len, ids, labels, positions);
            rowLen += len;
            total += len;
            cu.add(total);
            maxSeqlen = Math.max(maxSeqlen, len);
            if (pendingStart == 0 && n > seqLen) {
                if (options.overlong() == Overlong.TRUNCATE) {
                    truncatedDocuments++;
                    droppedTokens += n - seqLen;
                } else {
                    splitDocuments++;
                }
            }
            pendingStart += len;
            if (pendingStart >= n || options.overlong() == Overlong.TRUNCATE) {
                pendingDoc = null;
            }
        }
        if (rows.size() == 0) {
            return null;
        }
        rows.add(total);
        Batch b = new Batch(ids.toArray(), labels.toArray(), positions.toArray(), cu.toArray(), rows.toArray(), maxSeqlen);
        batches++;
        tokens += total;
        targetTokens += b.targetTokens();
        return b;
    }

    /** Tokens [start, start + len) of {@code doc}, labelled with the next token inside the piece. */
    private static void appendPiece(Document doc, int start, int len, IntArray ids, IntArray labels,
                                    IntArray positions) {
        int end = start + len;
        for (int i = start; i < end; i++) {
            ids.add(doc.ids()[i]);
            int j = i + 1;
            labels.add(j < end && doc.targetMask()[j] ? doc.ids()[j] : Batch.IGNORE_INDEX);
            positions.add(i - start);
        }
    }

    /** The next tokenized document with something to learn, or null when a validation loader ends. */
    private Document nextDocument() {
        while (true) {
            RawDocument raw = nextRaw();
            if (raw == null) {
                return null;
            }
            Document d = tokenize(raw);
            if (d.hasTargets()) {
                documents++;
                return d;
            }
            skippedDocuments++;
        }
    }

    private Document tokenize(RawDocument raw) {
        if (raw.text() != null) {
            int[] ids = tokenizer.encodeDocument(raw.text());
            boolean[] mask = new boolean[ids.length];
            Arrays.fill(mask, true);
            return new Document(raw.ref(), ids, mask);
        }
        ChatEncoding e = tokenizer.applyChatTemplate(raw.messages());
        return new Document(raw.ref(), e.ids(), e.lossMask());
    }

    /** Shuffle buffer over the mixed (training) or sequential (validation) document stream. */
    private RawDocument nextRaw() {
        while (buffer.size() < bufferCapacity) {
            RawDocument d = upstream();
            if (d == null) {
                break;
            }
            buffer.add(d);
        }
        if (buffer.isEmpty()) {
            return null;
        }
        int j = buffer.size() == 1 ? 0 : shuffle.nextInt(buffer.size());
        RawDocument out = buffer.get(j);
        RawDocument last = buffer.remove(buffer.size() - 1);
        if (j < buffer.size()) {
            buffer.set(j, last);
        }
        return out;
    }

    private RawDocument upstream() {
        if (split == Split.VALIDATION) {
            while (currentFile < sources.size()) {
                RawDocument d = sources.get(currentFile).next();
                if (d != null) {
                    return d;
                }
                currentFile++;
            }
            return null;
        }
        int pick = 0;
        if (sources.size() > 1) {
            double u = mixer.nextDouble() * cumulativeWeights[cumulativeWeights.length - 1];
            while (pick < cumulativeWeights.length - 1 && u >= cumulativeWeights[pick]) {
                pick++;
            }
        }
        return sources.get(pick).next();
    }

    /** The loader's position, to save with a checkpoint (taken between batches). */
    public DataLoaderState state() {
        List<SourceState> s = new ArrayList<>();
        for (DataSource src : sources) {
            s.add(src.state());
        }
        List<DocRef> refs = new ArrayList<>();
        for (RawDocument d : buffer) {
            refs.add(d.ref());
        }
        PendingPiece pending = pendingDoc == null ? null : new PendingPiece(pendingDoc.ref(), pendingStart);
        return new DataLoaderState(DataLoaderState.VERSION, split, options.fingerprint(), s, currentFile, mixer.draws(),
                shuffle.draws(), refs, pending, stats());
    }

    /**
     * Continues from a saved state, so that the following batches equal those the saving loader
     * would have produced next.
     *
     * @throws DataException when the state belongs to other data options or the files changed
     */
    public void restore(DataLoaderState s) {
        if (s.version() != DataLoaderState.VERSION) {
            throw new DataException("data loader state has format version " + s.version() + "; this build reads "
                    + DataLoaderState.VERSION);
        }
        if (s.split() != split) {
            throw new DataException("data loader state is for the " + s.split() + " split, this loader serves " + split);
        }
        if (!s.fingerprint().equals(options.fingerprint())) {
            throw new DataException("data loader state was saved with other data options, which would change the "
                    + "document order: saved [" + s.fingerprint() + "], now [" + options.fingerprint() + "]");
        }
        for (int i = 0; i < sources.size(); i++) {
            sources.get(i).restore(s.sources().get(i));
        }
        currentFile = s.currentFile();
        mixer.setDraws(s.mixerDraws());
        shuffle.setDraws(s.shuffleDraws());
        buffer.clear();
        for (DocRef ref : s.shuffleBuffer()) {
            buffer.add(readAt(ref));
        }
        if (s.pending() == null) {
            pendingDoc = null;
            pendingStart = 0;
        } else {
            pendingDoc = tokenize(readAt(s.pending().ref()));
            pendingStart = s.pending().start();
        }
        DataStats st = s.stats();
        batches = st.batches();
        documents = st.documents();
        tokens = st.tokens();
        targetTokens = st.targetTokens();
        truncatedDocuments = st.truncatedDocuments();
        droppedTokens = st.droppedTokens();
        splitDocuments = st.splitDocuments();
        skippedDocuments = st.skippedDocuments();
    }

    private RawDocument readAt(DocRef ref) {
        if (ref.file() < 0 || ref.file() >= sources.size()) {
            throw new DataException("data loader state refers to file #" + ref.file() + " but data.files has "
                    + sources.size());
        }
        return sources.get(ref.file()).readAt(ref);
    }

    /** Counters so far. */
    public DataStats stats() {
        return new DataStats(batches, documents, tokens, targetTokens, truncatedDocuments, droppedTokens,
                splitDocuments, skippedDocuments);
    }

    /** Malformed lines skipped so far, over all files. */
    public long malformedLines() {
        long n = 0;
        for (DataSource s : sources) {
            n += s.state().malformedLines();
        }
        return n;
    }

    /** The tokenizer documents are encoded with. */
    public TokenizerAdapter tokenizer() {
        return tokenizer;
    }

    @Override
    public void close() {
        for (DataSource s : sources) {
            s.close();
        }
    }

    /** A growable int array (no boxing in the packing loop). */
    private static final class IntArray {
        private int[] a = new int[256];
        private int n;

        void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        int size() {
            return n;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
