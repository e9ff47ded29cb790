package dev.panomni.trainer;

import dev.panomni.trainer.cli.TrainCommand;
import dev.panomni.trainer.config.ConfigLoader;
import dev.panomni.trainer.config.RunConfig;
import dev.panomni.trainer.metrics.MetricsLog;
import dev.panomni.trainer.metrics.StepMetrics;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The configs under examples/: all valid; the tiny ones train through the command line. */
class ExampleConfigsTest {
    private static final Path EXAMPLES = Path.of("..", "examples");

    @TempDir
    Path dir;

    @Test
    void everyExampleIsAValidConfig() throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.list(EXAMPLES)) {
            files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertTrue(files.size() >= 8, "examples: " + files);
        for (Path f : files) {
            RunConfig c = ConfigLoader.load(f, List.of());
            assertFalse(c.data().files().isEmpty(), f + " names its data");
        }
    }

    /** Runs {@code panomni train --config FILE} with outputs redirected into the temporary folder. */
    private record Run(int exitCode, String output, List<StepMetrics> metrics) {
    }

    private Run train(String example, String... extra) throws Exception {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(sink, true, StandardCharsets.UTF_8);
        TrainCommand cmd = new TrainCommand();
        setStreams(cmd, ps);
        String[] base = {"--config", EXAMPLES.resolve(example).toString(),
                "--checkpoint.dir=" + dir.resolve("ckpt"), "--logging.dir=" + dir.resolve("logs"),
                "--logging.plots=false"};
        String[] args = Stream.concat(Stream.of(base), Stream.of(extra)).toArray(String[]::new);
        int code = new CommandLine(cmd).execute(args);
        List<StepMetrics> m = Files.exists(dir.resolve("logs/metrics.jsonl"))
                ? MetricsLog.read(dir.resolve("logs/metrics.jsonl")) : List.of();
        return new Run(code, sink.toString(StandardCharsets.UTF_8), m);
    }

    private static void setStreams(TrainCommand cmd, PrintStream ps) throws Exception {
        for (String f : List.of("out", "err")) {
            var field = TrainCommand.class.getDeclaredField(f);
            field.setAccessible(true);
            field.set(cmd, ps);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-qwen3-moe.yaml", "tiny-llama.yaml", "tiny-qwen2.yaml", "tiny-chat.yaml"})
    void tinyExamplesTrainFromTheirJsonl(String example) throws Exception {
        Run r = train(example, "--train.steps=3", "--train.warmup_steps=1", "--train.eval_every=3", "--train.eval_batches=1",
                "--data.val_fraction=0.1", "--logging.sample_tokens=4");
        assertEquals(0, r.exitCode(), r.output());
        assertEquals(3, r.metrics().size(), r.output());
        assertTrue(r.metrics().get(2).valLoss() != null, r.output());
        assertTrue(r.output().contains("sample: "), r.output());
    }

    @Test
    void aTextModelTrainsFromAJsonlFileWithAConfigAndItsLossFalls() throws Exception {
        Run r = train("tiny-qwen3.yaml", "--train.steps=40", "--train.micro_batch_size=4", "--train.eval_every=20");
        assertEquals(0, r.exitCode(), r.output());
        assertEquals(40, r.metrics().size());
        double first = r.metrics().get(0).loss();
        double last = r.metrics().subList(30, 40).stream().mapToDouble(StepMetrics::loss).average().orElseThrow();
        assertTrue(first > 5.0, "starts near ln(260) = 5.56: " + first);
        assertTrue(last < 0.6 * first, "the loss falls: " + first + " -> " + last);
        assertTrue(r.output().contains("run finished: 40 steps"), r.output());
        assertTrue(Files.isDirectory(dir.resolve("ckpt/step-000040")));
    }
}
