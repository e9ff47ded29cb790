package dev.panomni.trainer;

import java.io.PrintStream;
import java.nio.file.Path;

/**
 * How a {@link Trainer} runs, beyond the run config.
 *
 * @param baseDir            folder that relative data and model paths are resolved against (the
 *                           config file's folder), or null for the working directory
 * @param out                progress, summary and samples
 * @param err                warnings
 * @param shard              this process's share of the data
 * @param interceptor        hook on each micro-batch's loss (tests inject faults through it)
 * @param handleInterrupt    install a shutdown hook so that Ctrl-C saves a checkpoint and exits cleanly
 * @param requireResume      fail when there is no checkpoint to resume from ({@code --resume})
 */
public record TrainerOptions(Path baseDir, PrintStream out, PrintStream err, DataShard shard,
                             StepInterceptor interceptor, boolean handleInterrupt, boolean requireResume) {
    /** The command line's options: working directory, standard streams, single process, Ctrl-C handled. */
    public static TrainerOptions defaults() {
        return new TrainerOptions(null, System.out, System.err, DataShard.SINGLE, StepInterceptor.NONE, true, false);
    }

    public TrainerOptions withBaseDir(Path dir) {
        return new TrainerOptions(dir, out, err, shard, interceptor, handleInterrupt, requireResume);
    }

    public TrainerOptions withStreams(PrintStream newOut, PrintStream newErr) {
        return new TrainerOptions(baseDir, newOut, newErr, shard, interceptor, handleInterrupt, requireResume);
    }

    public TrainerOptions withInterceptor(StepInterceptor i) {
        return new TrainerOptions(baseDir, out, err, shard, i, handleInterrupt, requireResume);
    }

    public TrainerOptions withShard(DataShard s) {
        return new TrainerOptions(baseDir, out, err, s, interceptor, handleInterrupt, requireResume);
    }

    public TrainerOptions withInterruptHandling(boolean on) {
        return new TrainerOptions(baseDir, out, err, shard, interceptor, on, requireResume);
    }

    public TrainerOptions withRequireResume(boolean on) {
        return new TrainerOptions(baseDir, out, err, shard, interceptor, handleInterrupt, on);
    }
}
