package dev.panomni.trainer.checkpoint;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Layout;
import dev.panomni.trainer.config.DataFile;
import dev.panomni.trainer.config.DataFormat;
import dev.panomni.trainer.config.OnBadLine;
import dev.panomni.trainer.config.Overlong;
import dev.panomni.trainer.data.ByteTokenizer;
import dev.panomni.trainer.data.DataLoader;
import dev.panomni.trainer.data.DataLoaderState;
import dev.panomni.trainer.data.LoaderOptions;
import dev.panomni.trainer.data.Split;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointManagerTest {
    @TempDir
    Path dir;
    private Scope scope;

    @BeforeEach
    void open() {
        scope = Scope.open("checkpoint-test");
    }

    @AfterEach
    void close() {
        scope.close();
    }

    private static float[] values(int n, float base) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = base + i * 0.25f;
        }
        return v;
    }

    /** A small "model": an F32 matrix, a BF16 vector, an I64 buffer. */
    private static Map<String, Tensor> model(float base) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("embed.weight", Tensor.of(values(12, base), 4, 3));
        m.put("layers.0.norm.weight", Layout.cast(Tensor.of(values(3, base + 1), 3), DType.BF16));
        m.put("layers.0.step", Tensor.ofLongs(new long[] {(long) base, 7}, 2));
        return m;
    }

    private static Map<String, Tensor> zerosLike(Map<String, Tensor> m) {
        Map<String, Tensor> z = new LinkedHashMap<>();
        m.forEach((k, v) -> z.put(k, Tensor.zeros(v.dtype(), v.device(), v.shape())));
        return z;
    }

    private DataLoaderState loaderState() throws IOException {
        Path f = dir.resolve("data.jsonl");
        Files.writeString(f, "{\"text\": \"hello world\"}\n{\"text\": \"second\"}\n");
        LoaderOptions o = new LoaderOptions(List.of(new DataFile(f.toString(), 1)), DataFormat.TEXT, 8, 1, null, true,
                1, 2, 0, OnBadLine.SKIP, Overlong.SPLIT);
        try (DataLoader l = DataLoader.open(o, new ByteTokenizer(), Split.TRAIN, w -> { })) {
            l.next();
            return l.state();
        }
    }

    private Checkpoint checkpoint(long step, float base, DataLoaderState data) {
        Map<String, Tensor> opt = Map.of("exp_avg.embed.weight", Tensor.of(values(12, -base), 4, 3));
        TrainingState state = new TrainingState(step, step * 100, step * 0.5,
                JsonNodeFactory.instance.objectNode().put("kind", "cosine"),
                Map.of("init", new RngState(1234, step * 7)), data, null);
        return new Checkpoint(model(base), opt, state, "train:\n  steps: 10\n");
    }

    @Test
    void saveAndRestoreRoundTripsTensorsAndState() throws Exception {
        CheckpointManager mgr = new CheckpointManager(dir.resolve("ckpt"), 3, new SafetensorsStore());
        DataLoaderState data = loaderState();
        Path saved = mgr.save(checkpoint(100, 1.5f, data));
        assertEquals(dir.resolve("ckpt/step-000100"), saved);
        assertEquals("step-000100\n", Files.readString(dir.resolve("ckpt/latest")));
        LoadedCheckpoint loaded = mgr.open(mgr.latest().orElseThrow());
        assertEquals(100, loaded.state().step());
        assertEquals(10_000, loaded.state().tokensSeen());
        assertEquals(new RngState(1234, 700), loaded.state().rng().get("init"));
        assertEquals(data, loaded.state().data());
        assertEquals("cosine", loaded.state().scheduler().get("kind").asText());
        assertEquals("train:\n  steps: 10\n", loaded.configYaml());

        Map<String, Tensor> expected = model(1.5f);
        Map<String, Tensor> params = zerosLike(expected);
        loaded.restoreModel(params);
        for (String k : expected.keySet()) {
            assertArrayEquals(expected.get(k).toFloatArray(), params.get(k).toFloatArray(), k);
            assertEquals(expected.get(k).dtype(), params.get(k).dtype());
        }
        Map<String, Tensor> opt = Map.of("exp_avg.embed.weight", Tensor.zeros(4, 3));
        loaded.restoreOptimizer(opt);
        assertArrayEquals(values(12, -1.5f), opt.get("exp_avg.embed.weight").toFloatArray());
    }

    /** A store that writes the model file, then dies before the optimizer file: a save killed midway. */
    private static final class DyingStore implements TensorStore {
        private final SafetensorsStore inner = new SafetensorsStore();
        private int writes;

        @Override
        public void write(Map<String, Tensor> tensors, Path file) throws IOException {
            if (++writes == 2) {
                Files.writeString(file, "half a file");
                throw new IOException("simulated crash while writing " + file.getFileName());
            }
            inner.write(tensors, file);
        }

        @Override
        public Map<String, Tensor> read(Path file) throws IOException {
            return inner.read(file);
        }

        @Override
        public Map<String, TensorInfo> describe(Path file) throws IOException {
            return inner.describe(file);
        }
    }

    @Test
    void aSaveKilledMidwayLeavesThePreviousCheckpointLatestAndLoadable() throws Exception {
        Path root = dir.resolve("ckpt");
        new CheckpointManager(root, 3, new SafetensorsStore()).save(checkpoint(100, 1f, null));
        CheckpointManager dying = new CheckpointManager(root, 3, new DyingStore());
        CheckpointException e = assertThrows(CheckpointException.class, () -> dying.save(checkpoint(200, 2f, null)));
        assertTrue(e.getMessage().contains("simulated crash"), e.getMessage());
        assertTrue(e.getMessage().contains("the previous checkpoint is intact"), e.getMessage());
        assertFalse(Files.exists(root.resolve("step-000200")));
        assertEquals("step-000100\n", Files.readString(root.resolve("latest")));

        CheckpointManager fresh = new CheckpointManager(root, 3, new SafetensorsStore());
        assertEquals(Optional.of(root.resolve("step-000100")), fresh.latest());
        Map<String, Tensor> params = zerosLike(model(1f));
        fresh.open(fresh.latest().orElseThrow()).restoreModel(params);
        assertArrayEquals(values(12, 1f), params.get("embed.weight").toFloatArray());
    }

    @Test
    void leftoversOfAKilledProcessAreIgnoredAndCleaned() throws Exception {
        Path root = dir.resolve("ckpt");
        CheckpointManager mgr = new CheckpointManager(root, 3, new SafetensorsStore());
        mgr.save(checkpoint(100, 1f, null));
        // A process killed during its save leaves the temporary directory, never a step directory.
        Path tmp = Files.createDirectory(root.resolve(".tmp-step-000200-999-1"));
        new SafetensorsStore().write(model(2f), tmp.resolve(CheckpointManager.MODEL_FILE));
        // A step directory without its manifest (copied by hand, or from a non-atomic file system).
        Path partial = Files.createDirectory(root.resolve("step-000300"));
        Files.writeString(partial.resolve(CheckpointManager.STATE_FILE), "{\"step\": 300}");

        assertEquals(Optional.of(root.resolve("step-000100")), mgr.latest());
        assertNotNull(mgr.problemWith(partial));
        assertTrue(mgr.problemWith(partial).contains("no manifest.json"), mgr.problemWith(partial));
        assertEquals(1, mgr.cleanTemporary());
        assertFalse(Files.exists(tmp));
        mgr.save(checkpoint(200, 2f, null));
        assertEquals(Optional.of(root.resolve("step-000200")), mgr.latest());
    }

    @Test
    void aDamagedCheckpointIsSkippedForTheOlderOne() throws Exception {
        Path root = dir.resolve("ckpt");
        CheckpointManager mgr = new CheckpointManager(root, 5, new SafetensorsStore());
        mgr.save(checkpoint(100, 1f, null));
        Path newer = mgr.save(checkpoint(200, 2f, null));
        Path model = newer.resolve(CheckpointManager.MODEL_FILE); // latest names it, but it is damaged
        byte[] bytes = Files.readAllBytes(model);
        Files.write(model, java.util.Arrays.copyOf(bytes, bytes.length - 4));
        assertTrue(mgr.problemWith(newer).contains("model.safetensors has"), mgr.problemWith(newer));
        assertEquals(Optional.of(root.resolve("step-000100")), mgr.latest());
        CheckpointException e = assertThrows(CheckpointException.class, () -> mgr.resolveResume(newer.toString()));
        assertTrue(e.getMessage().contains("is not a complete checkpoint"), e.getMessage());
    }

    @Test
    void onlyTheLastNAreKept() throws Exception {
        Path root = dir.resolve("ckpt");
        CheckpointManager mgr = new CheckpointManager(root, 2, new SafetensorsStore());
        for (int step = 1; step <= 5; step++) {
            mgr.save(checkpoint(step * 10, step, null));
        }
        assertEquals(List.of(root.resolve("step-000040"), root.resolve("step-000050")), mgr.completeCheckpoints());
        assertEquals("step-000050\n", Files.readString(root.resolve("latest")));
    }

    @Test
    void pruningNeverDeletesTheCheckpointJustWritten() throws Exception {
        Path root = dir.resolve("ckpt");
        CheckpointManager mgr = new CheckpointManager(root, 1, new SafetensorsStore());
        mgr.save(checkpoint(500, 5f, null));
        // Resuming from an older checkpoint and saving again: the new, lower step is the one written.
        Path saved = mgr.save(checkpoint(300, 3f, null));
        assertTrue(Files.exists(saved), "the checkpoint just written survives pruning");
        assertNull(mgr.problemWith(saved));
        assertEquals(Optional.of(saved), mgr.latest(), "the latest save, not the highest step, is resumed");
    }

    @Test
    void savingAnExistingStepReplacesIt() throws Exception {
        Path root = dir.resolve("ckpt");
        CheckpointManager mgr = new CheckpointManager(root, 3, new SafetensorsStore());
        mgr.save(checkpoint(100, 1f, null));
        mgr.save(checkpoint(100, 9f, null));
        Map<String, Tensor> params = zerosLike(model(9f));
        mgr.open(root.resolve("step-000100")).restoreModel(params);
        assertArrayEquals(values(12, 9f), params.get("embed.weight").toFloatArray());
        try (var s = Files.list(root)) {
            assertEquals(List.of("latest", "step-000100"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void aCheckpointOfAnotherShapeIsRejectedWithEveryMismatch() {
        CheckpointManager mgr = new CheckpointManager(dir.resolve("ckpt"), 3, new SafetensorsStore());
        Path saved = mgr.save(checkpoint(100, 1f, null));
        Map<String, Tensor> other = new LinkedHashMap<>();
        other.put("embed.weight", Tensor.zeros(8, 3));
        other.put("layers.0.norm.weight", Tensor.zeros(DType.BF16, dev.panomni.tensor.Device.CPU, 3));
        other.put("layers.1.norm.weight", Tensor.zeros(3));
        CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class,
                () -> mgr.open(saved).restoreModel(other));
        assertEquals(List.of(
                "embed.weight: checkpoint has [4, 3], the model has [8, 3]",
                "layers.0.step: in the checkpoint [2] but not in the model",
                "layers.1.norm.weight: missing from the checkpoint (the model has [3])"), e.problems());
        assertTrue(e.getMessage().contains("model tensors of checkpoint " + saved), e.getMessage());
        assertArrayEquals(new float[24], other.get("embed.weight").toFloatArray(), "nothing is copied on mismatch");
    }

    @Test
    void resumeResolvesAutoNeverAndPaths() throws Exception {
        Path root = dir.resolve("ckpt");
        CheckpointManager mgr = new CheckpointManager(root, 3, new SafetensorsStore());
        assertEquals(Optional.empty(), mgr.resolveResume("auto"), "nothing to resume from yet");
        mgr.save(checkpoint(100, 1f, null));
        Path latest = mgr.save(checkpoint(200, 2f, null));
        assertEquals(Optional.of(latest), mgr.resolveResume("auto"));
        assertEquals(Optional.empty(), mgr.resolveResume("never"));
        assertEquals(Optional.of(root.resolve("step-000100")), mgr.resolveResume(root.resolve("step-000100").toString()));
        assertEquals(Optional.of(latest), mgr.resolveResume(root.toString()), "a checkpoint root means its latest");
        CheckpointException e = assertThrows(CheckpointException.class, () -> mgr.resolveResume(dir.resolve("x").toString()));
        assertTrue(e.getMessage().contains("is not a directory"), e.getMessage());
    }
}
