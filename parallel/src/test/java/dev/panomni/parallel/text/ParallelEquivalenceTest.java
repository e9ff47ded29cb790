package dev.panomni.parallel.text;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panomni.modalities.text.model.CausalLm;
import dev.panomni.modalities.text.model.CausalLmOutput;
import dev.panomni.modalities.text.model.PackedBatch;
import dev.panomni.modalities.text.model.TextModelConfig;
import dev.panomni.nn.optim.AdamW;
import dev.panomni.nn.optim.GradClip;
import dev.panomni.nn.optim.ParamGroup;
import dev.panomni.parallel.engine.ParallelModel;
import dev.panomni.parallel.engine.ParallelOptions;
import dev.panomni.parallel.mesh.DeviceMesh;
import dev.panomni.parallel.mesh.MeshDim;
import dev.panomni.parallel.mesh.MeshShape;
import dev.panomni.parallel.sp.SequenceParallelMode;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parallel training equals single-device training: a tiny dense and a tiny MoE model, five AdamW
 * steps with gradient clipping, on one rank and on every mesh of the issue (FSDP 2 and 4, HSDP 2x2,
 * EP 2 and 4, Ulysses 2 and 4, ring 2 and 4, and dp_replicate 2 x dp_shard 2 x sp 2 with ep 2).
 *
 * <p>Tolerances, fp32 throughout: at every step the global loss, the global gradient norm, every
 * parameter's full gradient and every updated parameter (L2 norm of the difference over the L2 norm
 * of the reference, per tensor) agree with the single-device run within {@value #TOLERANCE}
 * relative. The only differences are summation orders (gradients summed over ranks, attention
 * merged over blocks).
 *
 * <p>AdamW runs with eps = {@value #ADAM_EPS}: Adam divides each element's step by that element's
 * own gradient magnitude, so an element whose gradient cancels to rounding noise (1e-8 here) would
 * get a full-size step of arbitrary sign in any two runs that sum in different orders; an eps above
 * that noise keeps the step a smooth function of the gradient, so comparing parameters is meaningful.
 *
 * <p>The MoE model's documents need no padding for any sp degree here: padding tokens (which the
 * collator adds so the sequence splits evenly, as VeOmni does) are routed like any token and so
 * enter the load-balancing statistics. The dense model's documents do get padded.
 */
class ParallelEquivalenceTest {
    static final double TOLERANCE = 1e-5;
    static final int STEPS = 5;
    static final double LR = 2e-3;
    static final double WEIGHT_DECAY = 0.1;
    static final double MAX_NORM = 0.5;
    static final long SEED = 42;
    static final double ADAM_EPS = 1e-3;
    /** Dense: 27 tokens, padded for every sp degree. */
    static final int[] DENSE_DOCS = {9, 5, 7, 6};
    /** MoE: lengths that split evenly into 2 x sp chunks on every mesh here (no padding). */
    static final int[] MOE_DOCS = {12, 4, 8, 8};

    static TextModelConfig dense() throws Exception {
        return TextModelConfig.parse(new ObjectMapper().readTree("""
                {"model_type":"qwen3","vocab_size":61,"hidden_size":32,"num_hidden_layers":2,
                 "num_attention_heads":4,"num_key_value_heads":2,"head_dim":8,"intermediate_size":48,
                 "rope_theta":10000,"rms_norm_eps":1e-6,"tie_word_embeddings":false}"""), "dense");
    }

    static TextModelConfig moe() throws Exception {
        return TextModelConfig.parse(new ObjectMapper().readTree("""
                {"model_type":"qwen3_moe","vocab_size":61,"hidden_size":32,"num_hidden_layers":2,
                 "num_attention_heads":4,"num_key_value_heads":2,"head_dim":8,"intermediate_size":48,
                 "num_experts":8,"num_experts_per_tok":2,"moe_intermediate_size":16,"norm_topk_prob":true,
                 "router_aux_loss_coef":0.02,"rope_theta":10000,"tie_word_embeddings":false}"""), "moe");
    }

    /** The global batch of a step: documents of fixed lengths with fresh tokens. */
    static List<long[]> documents(String which, int step) {
        Random r = new Random(1000 + step);
        List<long[]> docs = new ArrayList<>();
        for (int len : which.equals("moe") ? MOE_DOCS : DENSE_DOCS) {
            long[] d = new long[len];
            for (int i = 0; i < len; i++) {
                d[i] = r.nextInt(61);
            }
            docs.add(d);
        }
        return docs;
    }

    /** Losses, gradient norms and full parameters after each step. */
    record Trace(double[] losses, double[] norms, List<Map<String, float[]>> params, List<Map<String, float[]>> grads) {
    }

    static AdamW optimizer(Map<String, Tensor> params) {
        return new AdamW(ParamGroup.decayMatricesOnly(params, LR, WEIGHT_DECAY), 0.9, 0.95, ADAM_EPS);
    }

    private static final Map<String, Trace> REFERENCES = new ConcurrentHashMap<>();

    static Trace reference(String which) {
        return REFERENCES.computeIfAbsent(which, w -> {
            try (Scope s = Scope.open("reference"); CausalLm model = new CausalLm(config(w), SEED)) {
                AdamW opt = optimizer(model.namedParameters());
                double[] losses = new double[STEPS];
                double[] norms = new double[STEPS];
                List<Map<String, float[]>> params = new ArrayList<>();
                List<Map<String, float[]>> grads = new ArrayList<>();
                for (int step = 0; step < STEPS; step++) {
                    try (Scope st = Scope.open("step")) {
                        PackedBatch batch = PackedBatch.of(documents(w, step).toArray(long[][]::new));
                        CausalLmOutput out = model.loss(batch);
                        losses[step] = out.loss().item();
                        out.loss().backward();
                        Map<String, float[]> g = new LinkedHashMap<>();
                        model.namedParameters().forEach((k, v) -> g.put(k, v.grad().toFloatArray()));
                        grads.add(g);
                        norms[step] = GradClip.clipGradNorm(model.parameters(), MAX_NORM);
                        opt.step();
                        opt.zeroGrad();
                        Map<String, float[]> p = new LinkedHashMap<>();
                        model.namedParameters().forEach((k, v) -> p.put(k, v.toFloatArray()));
                        params.add(p);
                    }
                }
                opt.close();
                return new Trace(losses, norms, params, grads);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    static TextModelConfig config(String which) {
        try {
            return which.equals("moe") ? moe() : dense();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The same training on {@code shape}, ranks as threads; returns rank 0's trace (all ranks agree on losses). */
    static Trace parallel(String which, MeshShape shape, SequenceParallelMode mode) throws Exception {
        return parallel(which, shape, ParallelOptions.defaults().withSequenceParallel(mode));
    }

    static Trace parallel(String which, MeshShape shape, ParallelOptions options) throws Exception {
        SequenceParallelMode mode = options.sequenceParallel();
        TextModelConfig cfg = config(which);
        List<Trace> traces = Ranks.run(shape.worldSize(), 60_000, world -> {
            try (DeviceMesh mesh = new DeviceMesh(shape, world); CausalLm model = new CausalLm(cfg, SEED);
                 ParallelModel engine = new ParallelModel(model, TextModelParallel.plan(), mesh, options)) {
                AdamW opt = optimizer(engine.parameters());
                double[] losses = new double[STEPS];
                double[] norms = new double[STEPS];
                List<Map<String, float[]>> params = new ArrayList<>();
                List<Map<String, float[]>> grads = new ArrayList<>();
                int dpIndex = mesh.index(MeshDim.DP_REPLICATE) * shape.dpShard() + mesh.index(MeshDim.DP_SHARD);
                int dpSize = shape.dpReplicate() * shape.dpShard();
                for (int step = 0; step < STEPS; step++) {
                    try (Scope st = Scope.open("step")) {
                        TextModelParallel.LocalBatch local = TextModelParallel.collate(documents(which, step), dpIndex, dpSize,
                                mesh.index(MeshDim.SP), shape.sp(), mode.sharding());
                        engine.beginStep();
                        engine.setSequenceLayout(local.layout());
                        Tensor[] loss = TextModelParallel.loss(model, engine, local.batch(), TextModelParallel.CHUNK);
                        losses[step] = loss[1].item();
                        engine.backward(loss[0]);
                        Map<String, float[]> g = new LinkedHashMap<>();
                        engine.gatherFullGradients().forEach((k, v) -> g.put(k, v.toFloatArray()));
                        grads.add(g);
                        norms[step] = engine.clipGradNorm(MAX_NORM);
                        opt.step();
                        opt.zeroGrad();
                        Map<String, float[]> p = new LinkedHashMap<>();
                        engine.gatherFullParameters().forEach((k, v) -> p.put(k, v.toFloatArray()));
                        params.add(p);
                    }
                }
                opt.close();
                return new Trace(losses, norms, params, grads);
            }
        });
        for (Trace t : traces) {
            for (int s = 0; s < STEPS; s++) {
                assertEquals(traces.get(0).losses[s], t.losses[s], 0.0, "every rank reports the same global loss");
            }
        }
        return traces.get(0);
    }

    static Stream<Arguments> meshes() {
        List<Arguments> out = new ArrayList<>();
        for (String m : new String[] {"dense", "moe"}) {
            out.add(Arguments.of(m, "FSDP 2", new MeshShape(1, 2, 1, 1), SequenceParallelMode.ULYSSES));
            out.add(Arguments.of(m, "FSDP 4", new MeshShape(1, 4, 1, 1), SequenceParallelMode.ULYSSES));
            out.add(Arguments.of(m, "HSDP 2x2", new MeshShape(2, 2, 1, 1), SequenceParallelMode.ULYSSES));
            out.add(Arguments.of(m, "Ulysses 2", new MeshShape(1, 1, 2, 1), SequenceParallelMode.ULYSSES));
            out.add(Arguments.of(m, "Ulysses 4", new MeshShape(1, 1, 4, 1), SequenceParallelMode.ULYSSES));
            out.add(Arguments.of(m, "ring 2", new MeshShape(1, 1, 2, 1), SequenceParallelMode.RING));
            out.add(Arguments.of(m, "ring 4", new MeshShape(1, 1, 4, 1), SequenceParallelMode.RING));
        }
        out.add(Arguments.of("moe", "EP 2", new MeshShape(1, 2, 1, 2), SequenceParallelMode.ULYSSES));
        out.add(Arguments.of("moe", "EP 4", new MeshShape(1, 4, 1, 4), SequenceParallelMode.ULYSSES));
        out.add(Arguments.of("dense", "3D 2x2x2", new MeshShape(2, 2, 2, 1), SequenceParallelMode.ULYSSES));
        out.add(Arguments.of("moe", "3D 2x2x2 ep 2", new MeshShape(2, 2, 2, 2), SequenceParallelMode.ULYSSES));
        out.add(Arguments.of("moe", "3D 2x2x2 ep 2 ring", new MeshShape(2, 2, 2, 2), SequenceParallelMode.RING));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("meshes")
    void parallelTrainingMatchesSingleDevice(String model, String label, MeshShape shape, SequenceParallelMode mode)
            throws Exception {
        Trace ref = reference(model);
        Trace par = parallel(model, shape, mode);
        for (int s = 0; s < STEPS; s++) {
            assertEquals(ref.losses[s], par.losses[s], TOLERANCE * Math.abs(ref.losses[s]),
                    label + ": loss at step " + s);
            assertEquals(ref.norms[s], par.norms[s], TOLERANCE * Math.abs(ref.norms[s]),
                    label + ": gradient norm at step " + s);
            for (Map.Entry<String, float[]> e : ref.grads.get(s).entrySet()) {
                float[] got = par.grads.get(s).get(e.getKey());
                double err = relError(got, e.getValue());
                assertTrue(err <= TOLERANCE, label + ": gradient of " + e.getKey() + " at step " + s
                        + " differs by " + err + " (relative)");
            }
            for (Map.Entry<String, float[]> e : ref.params.get(s).entrySet()) {
                float[] got = par.params.get(s).get(e.getKey());
                double err = relError(got, e.getValue());
                int step = s;
                assertTrue(err <= TOLERANCE, () -> label + ": parameter " + e.getKey() + " after step " + step
                        + " differs by " + err + " (relative); " + worst(got, e.getValue(),
                        ref.grads.get(step).get(e.getKey()), par.grads.get(step).get(e.getKey())));
            }
        }
        assertTrue(ref.norms[0] > MAX_NORM, "the test should exercise clipping: first norm " + ref.norms[0]);
    }

    /** The element that differs most, with its gradients, for the failure message. */
    static String worst(float[] got, float[] want, float[] gradRef, float[] gradPar) {
        int w = 0;
        for (int i = 0; i < want.length; i++) {
            if (Math.abs(got[i] - want[i]) > Math.abs(got[w] - want[w])) {
                w = i;
            }
        }
        return "worst element " + w + ": " + got[w] + " vs " + want[w] + ", gradient " + gradPar[w] + " vs " + gradRef[w];
    }

    @org.junit.jupiter.api.Test
    void bf16GathersTrainCloseToFp32() throws Exception {
        // Parameters are gathered and computed in BF16 (8 mantissa bits); master shards, gradients and
        // AdamW stay F32. Losses follow the F32 run within BF16 rounding (2e-2 relative).
        for (String model : new String[] {"dense", "moe"}) {
            Trace ref = reference(model);
            Trace bf16 = parallel(model, new MeshShape(1, 2, 1, model.equals("moe") ? 2 : 1),
                    ParallelOptions.defaults().withComputeDtype(dev.panomni.tensor.DType.BF16));
            for (int s = 0; s < STEPS; s++) {
                assertEquals(ref.losses[s], bf16.losses[s], 2e-2 * ref.losses[s], model + ": loss at step " + s);
            }
        }
    }

    static double relError(float[] a, float[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < b.length; i++) {
            double d = (double) a[i] - b[i];
            num += d * d;
            den += (double) b[i] * b[i];
        }
        return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
    }
}
