package dev.panomni.trainer;

import dev.panomni.trainer.config.ConfigLoader;
import dev.panomni.trainer.config.ConfigOverride;
import dev.panomni.trainer.config.RunConfig;
import dev.panomni.trainer.demo.CountingData;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Small, fast training runs for tests: the micro model (2 layers, width 64) on counting data. */
public final class TrainerFixtures {
    private TrainerFixtures() {
    }

    /** A counting dataset of {@code lines} lines in {@code dir}. */
    public static Path countingData(Path dir, int lines) throws IOException {
        return CountingData.write(dir.resolve("counting.jsonl"), lines, 1);
    }

    /**
     * A 6-step CPU run of the micro model on {@code data}, 2 rows of 64 tokens per micro-batch,
     * checkpoints every 3 steps under {@code dir}/ckpt, metrics under {@code dir}/logs, no plots,
     * no validation; {@code extra} overrides come last.
     */
    public static RunConfig microConfig(Path dir, Path data, String... extra) {
        List<String> args = new ArrayList<>(List.of(
                "--model.family=tiny", "--model.size=micro",
                "--data.files=[{path: '" + data + "', weight: 1}]",
                "--data.seq_len=64", "--data.val_fraction=0.05", "--data.shuffle_buffer=64",
                "--train.steps=6", "--train.micro_batch_size=2", "--train.lr=3e-3", "--train.warmup_steps=2",
                "--train.eval_every=0", "--train.device=cpu",
                "--checkpoint.dir=" + dir.resolve("ckpt"), "--checkpoint.every=3",
                "--logging.dir=" + dir.resolve("logs"), "--logging.every=1", "--logging.plots=false"));
        args.addAll(List.of(extra));
        return ConfigLoader.fromYaml(null, "test", ConfigOverride.parse(args));
    }

    /** Options that print nowhere and install no shutdown hook. */
    public static TrainerOptions quiet() {
        PrintStream nowhere = new PrintStream(OutputStream.nullOutputStream());
        return TrainerOptions.defaults().withStreams(nowhere, nowhere).withInterruptHandling(false);
    }

    /** Options that capture both streams into {@code sink}, with no shutdown hook. */
    public static TrainerOptions capturing(ByteArrayOutputStream sink) {
        PrintStream ps = new PrintStream(sink, true, StandardCharsets.UTF_8);
        return TrainerOptions.defaults().withStreams(ps, ps).withInterruptHandling(false);
    }
}
