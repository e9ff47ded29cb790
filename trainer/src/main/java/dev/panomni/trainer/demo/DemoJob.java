package dev.panomni.trainer.demo;

import dev.panomni.trainer.Trainer;
import dev.panomni.trainer.TrainerOptions;
import dev.panomni.trainer.TrainingResult;
import dev.panomni.trainer.checkpoint.CheckpointManager;
import dev.panomni.trainer.checkpoint.Durable;
import dev.panomni.trainer.checkpoint.SafetensorsStore;
import dev.panomni.trainer.config.CheckpointConfig;
import dev.panomni.trainer.config.ConfigLoader;
import dev.panomni.trainer.config.ConfigOverride;
import dev.panomni.trainer.config.DataFile;
import dev.panomni.trainer.config.RunConfig;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * {@code panomni train} without a config: generates the counting dataset ({@link CountingData}),
 * trains the tiny decoder on it with the settings of {@code demo.yaml} (overridable key by key),
 * prints the model's continuations of held-out prompts, and judges the run: it succeeds when the
 * mean training loss of the last 10 steps is below {@value #LOSS_THRESHOLD} nats per token.
 *
 * <p>Why that threshold: the first number of each document is random (its last four digits, about
 * 9 nats, fall on the document's 36 targets), so a model that counts perfectly sits near 0.27;
 * an untrained one starts at ln(260) = 5.6. Measured on the default schedule: 1.09 at step 50, 0.43
 * at step 100, 0.30 at step 200. The run is deterministic, so the result does not depend on
 * the machine's speed.
 */
public final class DemoJob {
    /** The mean loss of the last 10 steps must fall below this (nats per token). */
    public static final double LOSS_THRESHOLD = 0.5;
    /** Lines of the generated dataset. */
    public static final int LINES = 20_000;
    /** Where the demonstration's checkpoints go unless overridden. */
    public static final String DEFAULT_CHECKPOINT_DIR = "runs/demo/checkpoints";
    /** File name of the generated dataset under {@code <logging.dir>/data}. */
    public static final String DATA_FILE = "counting.jsonl";

    private DemoJob() {
    }

    /**
     * What a demonstration run produced.
     *
     * @param result  the training run
     * @param correct held-out prompts continued correctly
     * @param checked held-out prompts checked
     * @param passed  the loss fell below {@link #LOSS_THRESHOLD}
     * @param seconds wall time of the whole job
     */
    public record Outcome(TrainingResult result, int correct, int checked, boolean passed, double seconds) {
    }

    /** The settings of {@code demo.yaml} (the job's defaults, shown by {@code panomni config --print --demo}). */
    public static String yaml() {
        try (InputStream in = DemoJob.class.getResourceAsStream("demo.yaml")) {
            if (in == null) {
                throw new IllegalStateException("demo.yaml is missing from the build");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The demonstration config with {@code overrides} applied (data files still empty: generated at run time). */
    public static RunConfig config(List<ConfigOverride> overrides) {
        return ConfigLoader.fromYaml(yaml(), "the built-in demo job (demo.yaml)", overrides);
    }

    /**
     * {@code config} reading the counting dataset when its {@code data.files} is empty: the dataset
     * is generated (once; an identical file is reused) into {@code <logging.dir>/data}.
     */
    public static RunConfig withGeneratedData(RunConfig config, PrintStream out) {
        if (!config.data().files().isEmpty()) {
            return config;
        }
        Path file = Path.of(config.logging().dir(), "data", DATA_FILE);
        try {
            CountingData.write(file, LINES, config.data().seed() != null ? config.data().seed() : config.train().seed());
        } catch (IOException e) {
            throw new UncheckedIOException("writing the demonstration dataset to " + file + " failed", e);
        }
        out.println("data.files is empty: training on the generated counting dataset " + file + " (" + LINES
                + " lines such as \"" + CountingData.document(41_298, 1) + "\")");
        return config.withData(config.data().withFiles(List.of(new DataFile(file.toString(), 1.0))));
    }

    /** Generates the data, trains, shows and judges the samples. */
    public static Outcome run(List<ConfigOverride> overrides, TrainerOptions options) {
        long start = System.nanoTime();
        PrintStream out = options.out();
        out.println("panomni demo: teaching a tiny decoder to count up and down (see README, \"Training\")");
        RunConfig config = withGeneratedData(config(overrides), out);
        if (!options.requireResume()) {
            startOverIfFinished(config, out);
        }
        TrainingResult result = new Trainer(config, options).run();
        int correct = 0;
        int checked = 0;
        if (!result.samples().isEmpty()) {
            out.println("continuations of prompts from held-out numbers (greedy decoding):");
            for (TrainingResult.Sample s : result.samples()) {
                String expected = CountingData.expectedContinuation(s.prompt());
                String got = s.completion().strip();
                String verdict = "";
                if (expected != null) {
                    checked++;
                    boolean ok = got.equals(expected);
                    correct += ok ? 1 : 0;
                    verdict = ok ? "   correct" : "   wrong (expected " + expected + ")";
                }
                out.printf(Locale.ROOT, "  %-14s -> %s%s%n", s.prompt().strip(), got, verdict);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        boolean passed = result.status() == TrainingResult.Status.COMPLETED && result.finalLoss() < LOSS_THRESHOLD;
        if (result.status() == TrainingResult.Status.COMPLETED) {
            out.printf(Locale.ROOT, "demo: final loss %.4f (mean of the last 10 steps) %s the threshold %.2f; "
                            + "%d of %d held-out prompts continued correctly; %.0f s in all%n", result.finalLoss(),
                    passed ? "is below" : "is NOT below", LOSS_THRESHOLD, correct, checked, seconds);
        }
        return new Outcome(result, correct, checked, passed, seconds);
    }

    /**
     * A finished demonstration in the default checkpoint folder would make "resume automatically"
     * a no-op; running the demo again means training again, so its checkpoints are cleared.
     */
    private static void startOverIfFinished(RunConfig config, PrintStream out) {
        CheckpointConfig cc = config.checkpoint();
        if (!CheckpointConfig.AUTO.equals(cc.resume()) || !Path.of(cc.dir()).normalize()
                .equals(Path.of(DEFAULT_CHECKPOINT_DIR))) {
            return;
        }
        CheckpointManager m = new CheckpointManager(Path.of(cc.dir()), cc.keepLast(), new SafetensorsStore());
        Optional<Path> latest = m.latest();
        if (latest.isEmpty()) {
            return;
        }
        long step = m.open(latest.get()).state().step();
        if (step < config.train().steps()) {
            return; // an unfinished run: resume it
        }
        out.println("the previous demo run finished (" + latest.get() + "); starting a new one");
        try (var entries = Files.list(Path.of(cc.dir()))) {
            for (Path p : entries.toList()) {
                Durable.deleteTree(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("clearing " + cc.dir() + " failed", e);
        }
    }
}
