package dev.panomni.trainer.config;

import java.util.List;

/**
 * {@code data:} the training documents and how they become batches.
 *
 * @param files              JSONL inputs mixed by weight; empty selects the built-in demonstration dataset
 * @param format             what each line holds (plain text or chat messages)
 * @param tokenizer          {@code byte} (byte-level, 260 ids), a tokenizer.json path, or null for the
 *                           model's own ({@code model.hf_path}), byte-level when the model has none
 * @param seqLen             token budget of one packed sequence (documents longer than this are
 *                           truncated or split, see {@code overlong})
 * @param maxTokensPerBatch  dynamic batch size: a micro-batch takes sequences until their tokens
 *                           would exceed this budget (null: {@code train.micro_batch_size} sequences)
 * @param pack               pack several documents into one sequence (boundaries kept) instead of
 *                           one document per sequence
 * @param seed               shuffle and mixing seed (null: {@code train.seed})
 * @param shuffleBuffer      documents held in the shuffle buffer (1 disables shuffling)
 * @param valFraction        share of documents held out for validation, chosen by a hash of each
 *                           document's file and line number (0 disables validation)
 * @param onBadLine          a malformed line is skipped and counted, or stops the run
 * @param overlong           what a document longer than {@code seq_len} becomes
 */
public record DataConfig(
        List<DataFile> files,
        DataFormat format,
        String tokenizer,
        int seqLen,
        Integer maxTokensPerBatch,
        boolean pack,
        Long seed,
        int shuffleBuffer,
        double valFraction,
        OnBadLine onBadLine,
        Overlong overlong) {

    public DataConfig {
        files = files == null ? List.of() : List.copyOf(files);
    }

    public static DataConfig defaults() {
        return new DataConfig(List.of(), DataFormat.TEXT, null, 256, null, true, null, 1024, 0.01,
                OnBadLine.SKIP, Overlong.SPLIT);
    }

    /** This config reading {@code newFiles} instead. */
    public DataConfig withFiles(List<DataFile> newFiles) {
        return new DataConfig(newFiles, format, tokenizer, seqLen, maxTokensPerBatch, pack, seed, shuffleBuffer,
                valFraction, onBadLine, overlong);
    }

    /** This config with {@code seed} set (used to inherit {@code train.seed}). */
    public DataConfig withSeed(long newSeed) {
        return new DataConfig(files, format, tokenizer, seqLen, maxTokensPerBatch, pack, newSeed, shuffleBuffer,
                valFraction, onBadLine, overlong);
    }
}
