package dev.panomni.trainer.demo;

import dev.panomni.trainer.cli.TrainCommand;
import dev.panomni.trainer.metrics.MetricsLog;
import dev.panomni.trainer.metrics.StepMetrics;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DemoJobTest {
    @TempDir
    Path dir;

    @Test
    void countingDocumentsAreConsecutiveAndAvoidTheHeldOutBlocks() {
        List<String> lines = CountingData.lines(3000, 5);
        assertEquals(lines, CountingData.lines(3000, 5), "deterministic from the seed");
        int carries = 0;
        for (String line : lines) {
            String text = line.substring("{\"text\": \"".length(), line.length() - 2);
            int[] n = Arrays.stream(text.split(" ")).mapToInt(Integer::parseInt).toArray();
            assertEquals(CountingData.LENGTH, n.length, line);
            int d = n[1] - n[0];
            assertTrue(d == 1 || d == -1, line);
            for (int i = 0; i < n.length; i++) {
                assertEquals(n[0] + d * i, n[i], line);
                assertFalse(CountingData.isHeldOut(n[i]), line);
            }
            assertTrue(n[0] >= CountingData.LOW && n[n.length - 1] < CountingData.RANGE, line);
            if (n[0] / 100 != n[n.length - 1] / 100) {
                carries++;
            }
        }
        assertTrue(carries > 0.3 * lines.size(), "a third of the documents cross the hundreds: " + carries);
        assertEquals("4299 4300 4301 4302", CountingData.expectedContinuation("4297 4298 "));
        assertEquals("597 596 595 594", CountingData.expectedContinuation("599 598 "));
        assertNull(CountingData.expectedContinuation("1 3 "));
        assertNull(CountingData.expectedContinuation("hello"));
        for (String p : DemoJob.config(List.of()).logging().samplePrompts()) {
            assertTrue(CountingData.isHeldOut(Integer.parseInt(p.trim().split(" ")[0])), p);
        }
    }

    @Test
    void theDefaultJobRunsEndToEndOnAShortSchedule() throws Exception {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(sink, true, StandardCharsets.UTF_8);
        TrainCommand cmd = new TrainCommand();
        for (String f : List.of("out", "err")) {
            var field = TrainCommand.class.getDeclaredField(f);
            field.setAccessible(true);
            field.set(cmd, ps);
        }
        Path logs = dir.resolve("demo");
        int code = new CommandLine(cmd).execute("--train.steps=30", "--train.warmup_steps=5", "--train.eval_every=15",
                "--checkpoint.every=15", "--logging.dir=" + logs, "--checkpoint.dir=" + logs.resolve("checkpoints"));
        String out = sink.toString(StandardCharsets.UTF_8);

        List<StepMetrics> m = MetricsLog.read(logs.resolve("metrics.jsonl"));
        assertEquals(30, m.size(), out);
        double first = m.get(0).loss();
        double last = m.subList(20, 30).stream().mapToDouble(StepMetrics::loss).average().orElseThrow();
        assertTrue(last < first - 2.0, "the loss falls: " + first + " -> " + last + "\n" + out);
        assertEquals(last < DemoJob.LOSS_THRESHOLD ? 0 : 1, code, out);
        assertTrue(m.get(14).valLoss() != null && m.get(29).valLoss() != null);

        assertTrue(Files.isRegularFile(logs.resolve("data/counting.jsonl")));
        assertTrue(Files.isDirectory(logs.resolve("checkpoints/step-000015")));
        assertTrue(Files.isDirectory(logs.resolve("checkpoints/step-000030")));
        for (String png : List.of("loss.png", "lr.png", "throughput.png")) {
            byte[] head = Arrays.copyOf(Files.readAllBytes(logs.resolve(png)), 4);
            assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, head, png);
        }
        assertTrue(out.contains("step 30/30 | loss"), out);
        assertTrue(out.contains("run finished: 30 steps"), out);
        assertTrue(out.contains("continuations of prompts from held-out numbers"), out);
        assertEquals(8, out.lines().filter(l -> l.matches("  \\d+ \\d+ +->.*")).count(), out);
        assertTrue(out.contains("the threshold 0.50"), out);
    }
}
