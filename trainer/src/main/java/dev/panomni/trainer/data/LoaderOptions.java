package dev.panomni.trainer.data;

import dev.panomni.trainer.config.DataConfig;
import dev.panomni.trainer.config.DataFile;
import dev.panomni.trainer.config.DataFormat;
import dev.panomni.trainer.config.OnBadLine;
import dev.panomni.trainer.config.Overlong;
import dev.panomni.trainer.config.RunConfig;

import java.util.List;

/**
 * What a {@link DataLoader} needs of the run config.
 *
 * @param files             inputs and their mixing weights
 * @param format            text or chat lines
 * @param seqLen            token budget of one sequence (row)
 * @param microBatchSize    rows per micro-batch when {@code maxTokensPerBatch} is null
 * @param maxTokensPerBatch token budget of one micro-batch (dynamic row count), or null
 * @param pack              several documents per row
 * @param seed              mixing and shuffling seed
 * @param shuffleBuffer     documents in the shuffle buffer (1: file order)
 * @param valFraction       share of lines held out for validation
 * @param onBadLine         skip or fail on malformed lines
 * @param overlong          truncate or split documents longer than {@code seqLen}
 */
public record LoaderOptions(List<DataFile> files, DataFormat format, int seqLen, int microBatchSize,
                            Integer maxTokensPerBatch, boolean pack, long seed, int shuffleBuffer, double valFraction,
                            OnBadLine onBadLine, Overlong overlong) {
    public LoaderOptions {
        files = List.copyOf(files);
    }

    /** The options of a resolved run config (its data seed is set). */
    public static LoaderOptions from(RunConfig c) {
        DataConfig d = c.data();
        return new LoaderOptions(d.files(), d.format(), d.seqLen(), c.train().microBatchSize(), d.maxTokensPerBatch(),
                d.pack(), d.seed() != null ? d.seed() : c.train().seed(), d.shuffleBuffer(), d.valFraction(),
                d.onBadLine(), d.overlong());
    }

    /**
     * What decides which document comes when (not how documents are cut into batches): a saved
     * loader state only restores into a loader with the same fingerprint.
     */
    String fingerprint() {
        StringBuilder sb = new StringBuilder();
        for (DataFile f : files) {
            sb.append(f.path()).append('*').append(f.weight()).append(' ');
        }
        return sb.append("format=").append(format.name().toLowerCase()).append(" seed=").append(seed)
                .append(" shuffle_buffer=").append(shuffleBuffer).append(" val_fraction=").append(valFraction)
                .toString();
    }
}
