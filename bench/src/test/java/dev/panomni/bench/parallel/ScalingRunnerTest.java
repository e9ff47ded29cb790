package dev.panomni.bench.parallel;

import dev.panomni.kernels.runtime.DeviceOutOfMemoryException;
import dev.panomni.parallel.engine.ParallelOptions;
import dev.panomni.parallel.ep.ExpertDispatch;
import dev.panomni.parallel.sp.SequenceParallelMode;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The scaling runner's options, sweep logic and CPU path (ranks as threads, tiny models). */
class ScalingRunnerTest {
    @Test
    void parsesTheBenchmarkDefaultsAndLists() {
        ScalingOptions o = ScalingOptions.parse(new String[] {});
        assertEquals("qwen3", o.model());
        assertArrayEquals(new int[] {1}, o.gpus());
        assertTrue(o.cuda());
        assertEquals(4, o.batch());
        assertEquals(4096, o.seq());
        assertFalse(o.longContext());
        assertEquals(1, o.epFor(2, 0), "dense models have no expert parallelism");
        assertEquals(2, o.epFor(2, 64), "MoE models default to ep = ranks");
        assertEquals(ExpertDispatch.ALL_GATHER, o.engineOptions().expertDispatch());

        o = ScalingOptions.parse(new String[] {"--model", "qwen3_moe", "--gpus", "1,2", "--ep", "1", "--sp", "RING",
            "--seq-sweep", "8192,16384,32768", "--device", "cpu", "--ep-dispatch", "all-to-all"});
        assertArrayEquals(new int[] {1, 2}, o.gpus());
        assertEquals(1, o.epFor(2, 64));
        assertEquals(SequenceParallelMode.RING, o.sp());
        assertEquals(SequenceParallelMode.RING, o.engineOptions().sequenceParallel());
        assertEquals(ExpertDispatch.ALL_TO_ALL, o.engineOptions().expertDispatch());
        assertArrayEquals(new int[] {8192, 16384, 32768}, o.seqSweep());
        assertTrue(o.longContext());
        assertFalse(o.cuda());
    }

    @Test
    void badOptionsAreNamed() {
        assertMessage("unknown option --gpu", "--gpu", "2");
        assertMessage("--sp must be ulysses or ring", "--sp", "zigzag");
        assertMessage("--ep-dispatch must be all-gather or all-to-all", "--ep-dispatch", "deepep");
        assertMessage("ascending", "--seq-sweep", "16384,8192");
        assertMessage("--steps takes an integer", "--steps", "x");
        assertMessage("--device must be cuda or cpu", "--device", "tpu");
        assertMessage("--gpus counts must be >= 1", "--gpus", "0");
        assertMessage("needs a value", "--model");
    }

    private static void assertMessage(String part, String... args) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ScalingOptions.parse(args));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    @Test
    void sweepKeepsTheLongestCompletedLengthAndNamesTheOneThatFailed() {
        int[] lengths = {8, 16, 32, 64};
        PhaseResults results = new PhaseResults(2, new long[] {8, 16, 32, 64});
        for (int phase = 0; phase < 2; phase++) {
            for (int r = 0; r < 2; r++) {
                results.put(phase, r, new RankResult(new double[] {0.5}, 1L << 30, 7));
            }
        }
        results.put(2, 0, new RankResult(new double[] {0.5}, 1L << 30, 7));   // rank 1 never finished S32
        Exception oom = new IllegalStateException("unit failed", new DeviceOutOfMemoryException("cuda:1 is out of memory",
                null));
        ScalingRunner.SweepResult r = ScalingRunner.SweepResult.of(lengths, results, oom);
        assertEquals(16, r.longest());
        assertEquals(32, r.stoppedAt());
        assertEquals(32.0, r.measurement().tokensPerSecond(), 1e-9);
        assertEquals(16.0, r.measurement().tokensPerSecondPerRank(), 1e-9);
        assertTrue(ScalingRunner.isOutOfMemory(oom));
        assertEquals("out of memory: cuda:1 is out of memory", ScalingRunner.describe(oom));

        ScalingRunner.SweepResult none = ScalingRunner.SweepResult.of(lengths, new PhaseResults(2, new long[4]), oom);
        assertEquals(0, none.longest());
        assertEquals(8, none.stoppedAt(), "a failure before the first length stops the sweep there");
    }

    @Test
    void sweepOfLengthsThatAllTrainHasNoStop() {
        PhaseResults results = new PhaseResults(1, new long[] {8});
        results.put(0, 0, new RankResult(new double[] {1}, -1, 7));
        ScalingRunner.SweepResult r = ScalingRunner.SweepResult.of(new int[] {8}, results, null);
        assertEquals(8, r.longest());
        assertEquals(0, r.stoppedAt());
        assertFalse(ScalingRunner.isOutOfMemory(new IllegalStateException("other")));
    }

    @Test
    void peaksNameEveryRank() {
        Measurement m = new Measurement(2, 100, List.of(new RankResult(new double[] {1, 3}, 3L << 29, 7),
                new RankResult(new double[] {1, 3}, 5L << 29, 7)));
        assertEquals("peak 1.5 / 2.5 GiB (ranks 0 / 1)", m.peaks());
        assertEquals(2.0, m.meanStep(), 1e-12);
        assertEquals(25.0, m.tokensPerSecondPerRank(), 1e-12);
    }

    @Test
    void cpuScalingOfTheDenseAndMoeModelsOnOneAndTwoRanks() throws Exception {
        String dense = run("--device", "cpu", "--model", "tiny-dense", "--gpus", "1,2", "--batch", "2", "--seq", "24",
                "--steps", "2", "--warmup", "1");
        assertResult(dense, "panomni tiny-dense \\(2 layers, [0-9.]+M parameters\\) fsdp 1, ep 1, B2 S24 per GPU, f32, "
                + "1 CPU rank thread: [0-9]+ tokens/s per GPU");
        assertResult(dense, "fsdp 2, ep 1, B2 S24 per GPU, f32, 2 CPU rank threads: [0-9]+ tokens/s per GPU \\([0-9]+ "
                + "total\\), step [0-9.]+ s, peak memory n/a on the CPU");
        assertResult(dense, "per-GPU throughput at 2 GPUs: [0-9]+ tokens/s = [0-9.]+% of 1 GPU");
        assertFinitelosses(dense);

        String moe = run("--device", "cpu", "--model", "tiny-moe", "--gpus", "2", "--batch", "2", "--seq", "24",
                "--steps", "1", "--warmup", "1");
        assertResult(moe, "panomni tiny-moe \\(2 layers, [0-9.]+M parameters\\) fsdp 2, ep 2 by all-gather, B2 S24 per GPU");
        assertFinitelosses(moe);
    }

    @Test
    void cpuLongContextSweepWithUlyssesAndRing() throws Exception {
        for (String sp : new String[] {"ulysses", "ring"}) {
            String out = run("--device", "cpu", "--model", "tiny-dense", "--gpus", "2", "--sp", sp, "--seq-sweep",
                    "16,40", "--steps", "1", "--warmup", "0");
            assertResult(out, "panomni long-context " + sp + " tiny-dense \\(2 layers\\) sp 2, fsdp 2, one document per "
                    + "step, f32, 2 CPU rank threads: S16 trained: [0-9]+ tokens/s per GPU");
            assertResult(out, "longest that trained: S40 at [0-9]+ tokens/s per GPU \\([0-9]+ total\\); every length "
                    + "asked for trained");
            assertFinitelosses(out);
        }
    }

    @Test
    void aFailingRankStopsTheOthersAndItsOwnErrorIsRethrown() {
        long start = System.nanoTime();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> RankThreads.run(3, false,
                java.time.Duration.ofMinutes(5), rank -> {
                    rank.mesh(new dev.panomni.parallel.mesh.MeshShape(1, 3, 1, 1));
                    if (rank.rank() == 1) {
                        throw new IllegalStateException("rank 1 ran out of memory");
                    }
                    rank.world().barrier();     // never completes: rank 1 is gone
                    return rank.rank();
                }));
        assertEquals("rank 1 ran out of memory", e.getMessage());
        assertTrue(System.nanoTime() - start < 60e9, "the waiting ranks must be aborted, not left to the timeout");
    }

    @Test
    void aSweepJobThatFailsAtOneLengthKeepsTheLengthsBefore() throws Exception {
        int[] lengths = {16, 32, 48};
        PhaseResults results = new PhaseResults(2, new long[] {16, 32, 48});
        var cfg = ParallelThroughput.config("tiny-dense");
        var shape = new dev.panomni.parallel.mesh.MeshShape(1, 1, 2, 1);
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        Exception failure = assertThrows(DeviceOutOfMemoryException.class, () -> RankThreads.run(2, false,
                java.time.Duration.ofMinutes(5), rank -> {
                    ScalingRunner.trainRank(rank, cfg, shape, ParallelOptions.defaults(), 0, 1, lengths.length,
                            phase -> {
                                ScalingRunner.BatchSource doc = ScalingRunner.sharedDocument(lengths[phase], 61);
                                return phase == 1 && rank.rank() == 1 ? () -> {
                                    throw new DeviceOutOfMemoryException("cuda:1 is out of memory allocating 2.00 GiB",
                                            null);
                                } : doc;
                            }, results, phase -> out.println("phase " + phase + " done"), out);
                    return null;
                }));
        ScalingRunner.SweepResult r = ScalingRunner.SweepResult.of(lengths, results, failure);
        assertEquals(16, r.longest());
        assertEquals(32, r.stoppedAt());
        assertTrue(buf.toString(StandardCharsets.UTF_8).contains("phase 0 done"));
        assertFalse(buf.toString(StandardCharsets.UTF_8).contains("phase 1 done"));
    }

    @Test
    void aModelWithTiedEmbeddingsLikeTheQwen3ShapeTrainsThroughTheEngine() throws Exception {
        // The Qwen3-0.6B shape ties its head to the embedding; the small test models do not.
        var cfg = new dev.panomni.modalities.text.model.TextModelConfig("qwen3", 61, 32, 2, 4, 2, 8, 48, 1_000_000.0,
                null, 1e-6, true, false, true, 0, 0, 0, false, 0.0, new boolean[2]);
        PhaseResults results = new PhaseResults(2, new long[] {2 * 24 * 2});
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        RankThreads.run(2, false, java.time.Duration.ofMinutes(5), rank -> {
            ScalingRunner.trainRank(rank, cfg, new dev.panomni.parallel.mesh.MeshShape(1, 2, 1, 1),
                    ParallelOptions.defaults(), 1, 1, 1,
                    phase -> ScalingRunner.dataParallelBatches(rank.rank(), 2, 24, 61), results, phase -> { }, out);
            return null;
        });
        assertEquals(1, results.completed());
        assertFinitelosses(buf.toString(StandardCharsets.UTF_8));
    }

    @Test
    void ringOnTheCpuHasItsBlockAttentionKernels() {
        assertNull(ScalingRunner.missingBlockAttention(dev.panomni.tensor.Device.CPU));
    }

    private static String run(String... args) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            assertEquals(0, ScalingRunner.run(ScalingOptions.parse(args), out));
        }
        String text = buf.toString(StandardCharsets.UTF_8);
        System.out.print(text);
        return text;
    }

    private static void assertResult(String out, String regex) {
        assertTrue(Pattern.compile("\\[scaling\\] .*" + regex).matcher(out).find(), "no line matching " + regex
                + " in:\n" + out);
    }

    private static void assertFinitelosses(String out) {
        Matcher m = Pattern.compile("step -?[0-9]+: loss ([-0-9.a-zA-Z]+)").matcher(out);
        int n = 0;
        while (m.find()) {
            double loss = Double.parseDouble(m.group(1));
            assertTrue(loss > 0 && loss < 10, "loss " + loss + " in:\n" + out);
            n++;
        }
        assertTrue(n > 0, "no step lines in:\n" + out);
    }
}
