package dev.panomni.trainer;

import dev.panomni.modalities.text.model.CausalLm;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.trainer.checkpoint.CheckpointException;
import dev.panomni.trainer.checkpoint.CheckpointManager;
import dev.panomni.trainer.checkpoint.SafetensorsStore;
import dev.panomni.trainer.config.RunConfig;
import dev.panomni.trainer.metrics.MetricsLog;
import dev.panomni.trainer.metrics.StepMetrics;
import dev.panomni.trainer.recipe.Recipe;
import dev.panomni.trainer.recipe.Recipes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static dev.panomni.trainer.TrainerFixtures.capturing;
import static dev.panomni.trainer.TrainerFixtures.countingData;
import static dev.panomni.trainer.TrainerFixtures.microConfig;
import static dev.panomni.trainer.TrainerFixtures.quiet;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainerTest {
    @TempDir
    Path dir;

    /** Simulates a process killed in the middle of a step. */
    private static final class Crash extends RuntimeException {
        Crash() {
            super("simulated crash");
        }
    }

    @Test
    void aResumedRunReproducesTheUninterruptedLossesBitForBit() throws Exception {
        Path data = countingData(dir, 400);
        String[] common = {"--train.grad_accum=2", "--train.steps=6", "--checkpoint.every=3"};

        TrainingResult whole = new Trainer(microConfig(dir.resolve("a"), data, common), quiet()).run();
        assertEquals(TrainingResult.Status.COMPLETED, whole.status());
        assertEquals(6, whole.metrics().size());

        // The second run dies during step 5, after the checkpoint of step 3 ...
        RunConfig b = microConfig(dir.resolve("b"), data, common);
        assertThrows(Crash.class, () -> new Trainer(b, quiet().withInterceptor((step, micro, loss) -> {
            if (step == 5) {
                throw new Crash();
            }
            return loss;
        })).run());
        // ... leaving half a save of a later step behind, as a kill during a save would.
        Path ckptRoot = dir.resolve("b/ckpt");
        Path torn = Files.createDirectories(ckptRoot.resolve(".tmp-step-000004-1-1"));
        Files.write(torn.resolve(CheckpointManager.MODEL_FILE), new byte[] {1, 2, 3});

        TrainingResult resumed = new Trainer(b, quiet()).run();
        assertEquals(TrainingResult.Status.COMPLETED, resumed.status());
        assertFalse(Files.exists(torn), "the interrupted save's leftovers are cleaned");
        List<StepMetrics> r = resumed.metrics();
        assertEquals(6, r.size(), "steps 1-3 kept from the first process, 4-6 from the second");
        for (int i = 0; i < 6; i++) {
            StepMetrics x = whole.metrics().get(i);
            StepMetrics y = r.get(i);
            assertEquals(x.step(), y.step());
            assertEquals(Double.doubleToLongBits(x.loss()), Double.doubleToLongBits(y.loss()),
                    "step " + x.step() + ": loss " + x.loss() + " vs " + y.loss());
            assertEquals(Double.doubleToLongBits(x.gradNorm()), Double.doubleToLongBits(y.gradNorm()),
                    "step " + x.step() + ": gradient norm");
            assertEquals(x.tokens(), y.tokens());
        }
        assertEquals(r, MetricsLog.read(dir.resolve("b/logs/metrics.jsonl")), "the file reads as one run");

        // And the final weights agree exactly.
        try (Scope s = Scope.open("compare")) {
            Map<String, Tensor> wa = new CheckpointManager(dir.resolve("a/ckpt"), 3, new SafetensorsStore())
                    .open(dir.resolve("a/ckpt/step-000006")).readModel();
            Map<String, Tensor> wb = new CheckpointManager(ckptRoot, 3, new SafetensorsStore())
                    .open(ckptRoot.resolve("step-000006")).readModel();
            assertEquals(wa.keySet(), wb.keySet());
            for (String k : wa.keySet()) {
                assertArrayEquals(wa.get(k).toFloatArray(), wb.get(k).toFloatArray(), 0f, k);
            }
        }
    }

    @Test
    void aNonFiniteLossStopsTheRunAndNeverReplacesTheLastGoodCheckpoint() throws Exception {
        Path data = countingData(dir, 400);
        RunConfig c = microConfig(dir, data, "--train.steps=6", "--checkpoint.every=2");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        TrainingResult r = new Trainer(c, capturing(log).withInterceptor(nanAt(5))).run();

        assertEquals(TrainingResult.Status.STOPPED, r.status());
        assertEquals(4, r.step());
        assertTrue(r.message().contains("step 5: the loss is NaN"), r.message());
        assertTrue(r.message().contains("step-000004") && r.message().contains("untouched"), r.message());
        String out = log.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("training stopped at step 5"), out);
        assertTrue(out.contains("non-finite gradients in model.embed_tokens.weight"), out);

        CheckpointManager m = new CheckpointManager(dir.resolve("ckpt"), 3, new SafetensorsStore());
        assertEquals(dir.resolve("ckpt/step-000004"), m.latest().orElseThrow());
        assertFalse(Files.exists(dir.resolve("ckpt/step-000005")));
        assertFalse(Files.exists(dir.resolve("ckpt/step-000006")));
        // The last good checkpoint loads into a model and holds finite weights.
        Recipe recipe = Recipes.forFamily(c.model().family());
        try (CausalLm model = recipe.build(recipe.architecture(c.model(), null), 99); Scope s = Scope.open("check")) {
            m.open(m.latest().orElseThrow()).restoreModel(model.namedParameters());
            for (Tensor p : model.parameters()) {
                for (float v : p.toFloatArray()) {
                    assertTrue(Float.isFinite(v));
                }
            }
        }
    }

    @Test
    void skipModeDropsTheBadStepAndCarriesOn() throws Exception {
        Path data = countingData(dir, 400);
        RunConfig c = microConfig(dir, data, "--train.steps=6", "--train.on_non_finite=skip");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        TrainingResult r = new Trainer(c, capturing(log).withInterceptor(nanAt(2))).run();

        assertEquals(TrainingResult.Status.COMPLETED, r.status());
        assertEquals(6, r.step());
        assertEquals(List.of(1L, 3L, 4L, 5L, 6L), r.metrics().stream().map(StepMetrics::step).toList(),
                "the skipped step has no record");
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("step 2: the loss is NaN"));
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("update skipped (1 skipped so far)"));
        for (StepMetrics m : r.metrics()) {
            assertTrue(Double.isFinite(m.loss()) && Double.isFinite(m.gradNorm()));
        }
    }

    @Test
    void tooManySkipsInARowStop() throws Exception {
        Path data = countingData(dir, 400);
        RunConfig c = microConfig(dir, data, "--train.steps=20", "--train.on_non_finite=skip",
                "--checkpoint.every=0");
        TrainingResult r = new Trainer(c, quiet().withInterceptor((step, micro, loss) ->
                Arith.mulScalar(loss, Double.POSITIVE_INFINITY))).run();
        assertEquals(TrainingResult.Status.STOPPED, r.status());
        assertTrue(r.message().startsWith(Trainer.MAX_CONSECUTIVE_SKIPS + " steps in a row"), r.message());
        assertTrue(new CheckpointManager(dir.resolve("ckpt"), 3, new SafetensorsStore()).latest().isEmpty(),
                "nothing is saved after non-finite values");
    }

    @Test
    void aStopRequestSavesTheStepAndTheRunContinuesFromIt() throws Exception {
        Path data = countingData(dir, 400);
        RunConfig c = microConfig(dir, data, "--train.steps=6", "--checkpoint.every=0");
        AtomicReference<Trainer> self = new AtomicReference<>();
        Trainer t = new Trainer(c, quiet().withInterceptor((step, micro, loss) -> {
            if (step == 2) {
                self.get().requestStop(); // what the Ctrl-C hook does
            }
            return loss;
        }));
        self.set(t);
        TrainingResult r = t.run();
        assertEquals(TrainingResult.Status.INTERRUPTED, r.status());
        assertEquals(2, r.step());
        assertEquals(dir.resolve("ckpt/step-000002"), r.lastCheckpoint());

        ByteArrayOutputStream log = new ByteArrayOutputStream();
        TrainingResult rest = new Trainer(c, capturing(log).withRequireResume(true)).run();
        assertEquals(TrainingResult.Status.COMPLETED, rest.status());
        assertEquals(6, rest.metrics().size());
        String out = log.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("resumed from " + dir.resolve("ckpt/step-000002") + " at step 2"), out);
        assertFalse(out.contains("schedule differs"), out);
    }

    @Test
    void accumulatingTwoMicroBatchesEqualsOneBatchOfBoth() throws Exception {
        Path data = countingData(dir, 400);
        TrainingResult split = new Trainer(microConfig(dir.resolve("a"), data, "--train.steps=2",
                "--train.micro_batch_size=2", "--train.grad_accum=2"), quiet()).run();
        TrainingResult joined = new Trainer(microConfig(dir.resolve("b"), data, "--train.steps=2",
                "--train.micro_batch_size=4", "--train.grad_accum=1"), quiet()).run();
        for (int i = 0; i < 2; i++) {
            StepMetrics x = split.metrics().get(i);
            StepMetrics y = joined.metrics().get(i);
            assertEquals(y.tokens(), x.tokens(), "the same documents");
            assertEquals(y.loss(), x.loss(), 1e-5 * y.loss(), "step " + (i + 1) + " loss: token-weighted mean");
            assertEquals(y.gradNorm(), x.gradNorm(), 1e-4 * y.gradNorm(), "step " + (i + 1) + " gradient norm");
        }
    }

    @Test
    void dataParallelRanksTakeAlternateMicroBatchesAndShareTheNormalization() throws Exception {
        Path data = countingData(dir, 400);
        TrainingResult both = new Trainer(microConfig(dir.resolve("a"), data, "--train.steps=1",
                "--train.warmup_steps=1", "--train.grad_accum=2"), quiet()).run();
        double sum = 0;
        long tokens = 0;
        for (int rank = 0; rank < 2; rank++) {
            TrainingResult r = new Trainer(microConfig(dir.resolve("r" + rank), data, "--train.steps=1",
                    "--train.warmup_steps=1"),
                    quiet().withShard(new DataShard(rank, 2))).run();
            sum += r.metrics().get(0).loss();
            tokens += r.metrics().get(0).tokens();
        }
        assertEquals(both.metrics().get(0).tokens(), tokens, "each micro-batch goes to exactly one rank");
        assertEquals(both.metrics().get(0).loss(), sum, 1e-6, "rank losses are shares of the global mean");
    }

    @Test
    void activationCheckpointingChangesMemoryNotResults() throws Exception {
        Path data = countingData(dir, 400);
        TrainingResult plain = new Trainer(microConfig(dir.resolve("a"), data, "--train.steps=3"), quiet()).run();
        TrainingResult recomputed = new Trainer(microConfig(dir.resolve("b"), data, "--train.steps=3",
                "--train.activation_checkpointing=true"), quiet()).run();
        for (int i = 0; i < 3; i++) {
            StepMetrics x = plain.metrics().get(i);
            StepMetrics y = recomputed.metrics().get(i);
            assertEquals(x.loss(), y.loss(), 1e-6 * x.loss());
            assertEquals(x.gradNorm(), y.gradNorm(), 1e-5 * x.gradNorm());
        }
    }

    @Test
    void validationLossIsMeasuredOnTheHeldOutSplit() throws Exception {
        Path data = countingData(dir, 600);
        TrainingResult r = new Trainer(microConfig(dir, data, "--train.steps=4", "--train.eval_every=2",
                "--train.eval_batches=2"), quiet()).run();
        assertNull(r.metrics().get(0).valLoss());
        assertTrue(r.metrics().get(1).valLoss() > 0);
        assertTrue(r.metrics().get(3).valLoss() > 0);
        assertEquals(Math.min(r.metrics().get(1).valLoss(), r.metrics().get(3).valLoss()), r.summary().bestValLoss());
    }

    @Test
    void resumeRulesAreEnforced() throws Exception {
        Path data = countingData(dir, 400);
        assertTrue(assertThrows(CheckpointException.class, () -> new Trainer(microConfig(dir, data),
                quiet().withRequireResume(true)).run()).getMessage().contains("no complete checkpoint"));
        new Trainer(microConfig(dir, data, "--train.steps=3"), quiet()).run();
        CheckpointException e = assertThrows(CheckpointException.class, () -> new Trainer(microConfig(dir, data,
                "--checkpoint.resume=never"), quiet()).run());
        assertTrue(e.getMessage().contains("already holds checkpoints of an earlier run (latest step-000003)"),
                e.getMessage());
    }

    @Test
    void decayExcludesNormsAndBiasesAndOptionallyEmbeddings() {
        RunConfig c = microConfig(dir, dir.resolve("unused.jsonl"));
        Recipe recipe = Recipes.forFamily(c.model().family());
        try (CausalLm model = recipe.build(recipe.architecture(c.model(), null), 1)) {
            var groups = Trainer.paramGroups(model.namedParameters(), c.train());
            assertEquals("decay", groups.get(0).name());
            assertTrue(groups.get(0).params().containsKey("model.embed_tokens.weight"));
            assertTrue(groups.get(0).params().containsKey("model.layers.0.mlp.up_proj.weight"));
            assertTrue(groups.get(1).params().containsKey("model.layers.0.input_layernorm.weight"));
            assertTrue(groups.get(1).params().containsKey("model.layers.0.self_attn.q_norm.weight"));
            assertEquals(0.0, groups.get(1).weightDecay());
            var noEmb = Trainer.paramGroups(model.namedParameters(),
                    microConfig(dir, dir, "--train.decay_embeddings=false").train());
            assertTrue(noEmb.get(1).params().containsKey("model.embed_tokens.weight"));
        }
    }

    private static StepInterceptor nanAt(long badStep) {
        return (step, micro, loss) -> step == badStep ? Arith.mulScalar(loss, Double.NaN) : loss;
    }
}
