package dev.panomni.trainer.metrics;

import dev.panomni.trainer.config.Precision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalDouble;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MetricsTest {
    @TempDir
    Path dir;

    private static StepMetrics step(long s) {
        return new StepMetrics(s, 5.0 / s, 1e-3 * s / 10, 0.5, 1000, 2000.0 + s, s * 0.5, 3L << 20, null);
    }

    @Test
    void metricsAreAppendedAsJsonLinesAndTrimmedOnResume() throws Exception {
        Path file = dir.resolve("run/metrics.jsonl");
        try (MetricsLog log = MetricsLog.open(file, 0)) {
            for (int s = 1; s <= 5; s++) {
                log.append(s == 4 ? step(s).withValLoss(1.25) : step(s));
            }
        }
        List<String> lines = Files.readAllLines(file);
        assertEquals(5, lines.size());
        assertTrue(lines.get(0).startsWith("{\"step\":1,\"loss\":5.0,\"lr\":1.0E-4,\"grad_norm\":0.5,\"tokens\":1000,"
                + "\"tokens_per_second\":2001.0,\"elapsed_seconds\":0.5,\"memory_bytes\":3145728}"), lines.get(0));
        assertTrue(lines.get(3).contains("\"val_loss\":1.25"));
        assertEquals(step(2), MetricsLog.read(file).get(1));

        // Resuming from the checkpoint of step 3: steps 4 and 5 will be trained again.
        try (MetricsLog log = MetricsLog.open(file, 3)) {
            assertEquals(3, log.records().size());
            log.append(step(4));
        }
        assertEquals(List.of(1L, 2L, 3L, 4L), MetricsLog.read(file).stream().map(StepMetrics::step).toList());
        try (MetricsLog log = MetricsLog.open(file, 0)) {
            assertTrue(log.records().isEmpty(), "a fresh run starts a new file");
        }
        assertEquals(0, Files.size(file));
    }

    @Test
    void aTornLastLineIsIgnored() throws Exception {
        Path file = dir.resolve("metrics.jsonl");
        Files.writeString(file, "{\"step\":1,\"loss\":2.0,\"lr\":0.1,\"tokens\":5,\"tokens_per_second\":1,"
                + "\"elapsed_seconds\":1}\n{\"step\":2,\"lo");
        assertEquals(1, MetricsLog.read(file).size());
    }

    @Test
    void plotsAreValidPngFiles() throws Exception {
        List<StepMetrics> records = new ArrayList<>();
        for (int s = 1; s <= 50; s++) {
            records.add(s % 10 == 0 ? step(s).withValLoss(6.0 / s) : step(s));
        }
        List<Path> files = Plots.write(records, dir.resolve("plots"));
        assertEquals(List.of(Plots.LOSS, Plots.LEARNING_RATE, Plots.THROUGHPUT),
                files.stream().map(p -> p.getFileName().toString()).toList());
        byte[] signature = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        for (Path f : files) {
            byte[] bytes = Files.readAllBytes(f);
            assertTrue(bytes.length > 1000, f + " has " + bytes.length + " bytes");
            assertArrayEquals(signature, Arrays.copyOf(bytes, 8), f + " starts with the PNG signature");
            BufferedImage img = ImageIO.read(f.toFile());
            assertEquals(900, img.getWidth());
            assertEquals(500, img.getHeight());
        }
        try (var s = Files.list(dir.resolve("plots"))) {
            assertEquals(3, s.count(), "no temporary files are left");
        }
    }

    @Test
    void progressLineShowsWhatIsKnown() {
        ProgressLine p = new ProgressLine(1000, 6e9, OptionalDouble.of(989e12));
        StepMetrics first = new StepMetrics(100, 2.34567, 3e-4, 1.5, 8192, 40_000, 50, 5L << 30, null);
        String line = p.render(first);
        assertEquals("step  100/1000 | loss 2.3457 | lr 3.00e-04 | gnorm 1.500 | 40.0k tok/s | MFU 24.3% | mem 5.00 GiB",
                line);
        StepMetrics later = new StepMetrics(110, 2.2, 3e-4, null, 8192, 40_000, 60, null, 2.5);
        assertEquals("step  110/1000 | loss 2.2000 | lr 3.00e-04 | 40.0k tok/s | MFU 24.3% | val 2.5000 | ETA 14m50s",
                p.render(later), "ETA = 890 steps x 1 s");
        ProgressLine cpu = new ProgressLine(10, 6e9, OptionalDouble.empty());
        String cpuLine = cpu.render(new StepMetrics(1, 1, 1e-3, null, 10, 950, 1, null, null));
        assertFalse(cpuLine.contains("MFU"), "no MFU without a known peak: " + cpuLine);
        assertTrue(cpuLine.contains("950 tok/s"), cpuLine);
    }

    @Test
    void formatting() {
        assertEquals("45s", ProgressLine.duration(44.6));
        assertEquals("3m12s", ProgressLine.duration(192));
        assertEquals("2h05m", ProgressLine.duration(7500));
        assertEquals("1.23 GiB", ProgressLine.bytes((long) (1.23 * (1L << 30))));
        assertEquals("512 B", ProgressLine.bytes(512));
        assertEquals("4.56M", ProgressLine.count(4_560_000));
    }

    @Test
    void summaryReportsTheRun() {
        List<StepMetrics> records = new ArrayList<>();
        for (int s = 1; s <= 20; s++) {
            records.add(s == 15 ? step(s).withValLoss(0.4) : step(s));
        }
        RunSummary r = RunSummary.of(records, Path.of("ckpt/step-000020"), List.of(Path.of("plots/loss.png")));
        assertEquals(20, r.steps());
        assertEquals(20_000, r.tokens());
        assertEquals(10.0, r.seconds());
        assertEquals(2000.0, r.tokensPerSecond());
        assertEquals(5.0, r.firstLoss());
        assertEquals(0.4, r.bestValLoss());
        String text = r.render();
        assertTrue(text.startsWith("run finished: 20 steps, 20.0k tokens in 10s (2000 tok/s)"), text);
        assertTrue(text.contains("best validation loss 0.4000"), text);
        assertTrue(text.contains("checkpoint ckpt/step-000020"), text);
        assertTrue(text.contains("peak memory 3.0 MiB"), text);
    }

    @Test
    void devicePeaksAreKnownForCommonAccelerators() {
        assertEquals(989e12, DevicePeaks.peakFlops("NVIDIA H100 80GB HBM3", Precision.BF16).orElseThrow());
        assertEquals(756e12, DevicePeaks.peakFlops("NVIDIA H100 PCIe", Precision.BF16).orElseThrow());
        assertEquals(156e12, DevicePeaks.peakFlops("NVIDIA A100-SXM4-80GB", Precision.FP32).orElseThrow());
        assertTrue(DevicePeaks.peakFlops("cpu", Precision.FP32).isEmpty());
    }
}
