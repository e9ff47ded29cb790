package dev.panomni.bench.parallel;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panomni.modalities.text.model.CausalLm;
import dev.panomni.modalities.text.model.TextModelConfig;
import dev.panomni.nn.optim.AdamW;
import dev.panomni.nn.optim.ParamGroup;
import dev.panomni.parallel.engine.ParallelModel;
import dev.panomni.parallel.engine.ParallelOptions;
import dev.panomni.parallel.mesh.DeviceMesh;
import dev.panomni.parallel.mesh.MeshDim;
import dev.panomni.parallel.mesh.MeshShape;
import dev.panomni.parallel.sp.SequenceParallelMode;
import dev.panomni.parallel.text.Ranks;
import dev.panomni.parallel.text.TextModelParallel;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * End-to-end training throughput of the parallel engine: a text model, a mesh (FSDP x SP x EP),
 * a number of steps -> tokens per second. Ranks run as threads of this JVM over the in-process
 * communicator (the threads mode); on a multi-GPU host the same loop runs with an NCCL
 * communicator, one rank per GPU.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.panomni.bench.parallel.ParallelThroughput \
 *     --model small-moe --mesh 1,1,1,1 --tokens 1024 --steps 5
 * </pre>
 *
 * Options: {@code --model tiny-dense|tiny-moe|small-dense|small-moe|<config.json>}, {@code --mesh
 * dp_replicate,dp_shard,sp,ep}, {@code --sp ulysses|ring}, {@code --tokens} (per data-parallel rank
 * and step), {@code --docs} (documents per data-parallel rank), {@code --steps}, {@code --warmup},
 * {@code --dtype f32|bf16} (gather/compute dtype), {@code --baseline} (the same model and batch on one
 * device without the engine: what sharding and recomputation cost).
 */
public final class ParallelThroughput {
    private ParallelThroughput() {
    }

    /** Parsed command line. */
    record Options(String model, MeshShape mesh, SequenceParallelMode sp, int tokens, int docs, int steps, int warmup,
                   DType dtype, boolean baseline) {
        static Options parse(String[] args) {
            String model = "small-dense";
            MeshShape mesh = MeshShape.single();
            SequenceParallelMode sp = SequenceParallelMode.ULYSSES;
            int tokens = 1024;
            int docs = 4;
            int steps = 5;
            int warmup = 1;
            DType dtype = DType.F32;
            boolean baseline = false;
            for (int i = 0; i < args.length; i++) {
                if (args[i].equals("--baseline")) {
                    baseline = true;
                    continue;
                }
                String v = i + 1 < args.length ? args[i + 1] : null;
                switch (args[i]) {
                    case "--model" -> model = v;
                    case "--mesh" -> {
                        String[] p = v.split(",");
                        if (p.length != 4) {
                            throw new IllegalArgumentException("--mesh takes dp_replicate,dp_shard,sp,ep, got " + v);
                        }
                        mesh = new MeshShape(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]),
                                Integer.parseInt(p[3]));
                    }
                    case "--sp" -> sp = SequenceParallelMode.valueOf(v.toUpperCase(Locale.ROOT));
                    case "--tokens" -> tokens = Integer.parseInt(v);
                    case "--docs" -> docs = Integer.parseInt(v);
                    case "--steps" -> steps = Integer.parseInt(v);
                    case "--warmup" -> warmup = Integer.parseInt(v);
                    case "--dtype" -> dtype = DType.valueOf(v.toUpperCase(Locale.ROOT));
                    default -> throw new IllegalArgumentException("unknown option " + args[i] + "; see the class javadoc");
                }
                i++;
            }
            return new Options(model, mesh, sp, tokens, docs, steps, warmup, dtype, baseline);
        }
    }

    static TextModelConfig config(String name) throws Exception {
        String json = switch (name) {
            case "tiny-dense" -> """
                    {"model_type":"qwen3","vocab_size":61,"hidden_size":32,"num_hidden_layers":2,
                     "num_attention_heads":4,"num_key_value_heads":2,"head_dim":8,"intermediate_size":48}""";
            case "tiny-moe" -> """
                    {"model_type":"qwen3_moe","vocab_size":61,"hidden_size":32,"num_hidden_layers":2,
                     "num_attention_heads":4,"num_key_value_heads":2,"head_dim":8,"intermediate_size":48,
                     "num_experts":8,"num_experts_per_tok":2,"moe_intermediate_size":16,"norm_topk_prob":true,
                     "router_aux_loss_coef":0.001}""";
            case "small-dense" -> """
                    {"model_type":"qwen3","vocab_size":4096,"hidden_size":256,"num_hidden_layers":4,
                     "num_attention_heads":8,"num_key_value_heads":4,"head_dim":32,"intermediate_size":768}""";
            case "small-moe" -> """
                    {"model_type":"qwen3_moe","vocab_size":4096,"hidden_size":256,"num_hidden_layers":4,
                     "num_attention_heads":8,"num_key_value_heads":4,"head_dim":32,"intermediate_size":768,
                     "num_experts":16,"num_experts_per_tok":4,"moe_intermediate_size":128,"norm_topk_prob":true,
                     "router_aux_loss_coef":0.001}""";
            default -> null;
        };
        return json != null ? TextModelConfig.parse(new ObjectMapper().readTree(json), name)
                : TextModelConfig.read(Path.of(name));
    }

    /** One data-parallel rank's documents for a step: {@code docs} random documents of about equal length. */
    static List<long[]> documents(int vocab, int tokens, int docs, long seed) {
        Random r = new Random(seed);
        List<long[]> out = new ArrayList<>();
        for (int d = 0; d < docs; d++) {
            int len = tokens / docs + (d < tokens % docs ? 1 : 0);
            long[] ids = new long[len];
            for (int i = 0; i < len; i++) {
                ids[i] = r.nextInt(vocab);
            }
            out.add(ids);
        }
        return out;
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        TextModelConfig cfg = config(o.model());
        MeshShape shape = o.mesh();
        shape.validate(shape.worldSize(), cfg.heads(), cfg.kvHeads(), cfg.experts(), o.sp() == SequenceParallelMode.ULYSSES);
        int dpSize = shape.dpReplicate() * shape.dpShard();
        System.out.printf(Locale.ROOT, "model %s (%d layers, hidden %d, %d experts), mesh %s, sp %s, %d tokens x %d "
                        + "data-parallel ranks per step, %s, %d CPU threads%n", o.model(), cfg.layers(), cfg.hidden(),
                cfg.experts(), shape, o.sp(), o.tokens(), dpSize, o.dtype(), Runtime.getRuntime().availableProcessors());
        if (o.baseline()) {
            report(o, shape, baseline(o, cfg));
            return;
        }
        List<double[]> times = Ranks.run(shape.worldSize(), 600_000, world -> {
            try (DeviceMesh mesh = new DeviceMesh(shape, world); CausalLm model = new CausalLm(cfg, 1);
                 ParallelModel engine = new ParallelModel(model, TextModelParallel.plan(), mesh,
                         ParallelOptions.defaults().withSequenceParallel(o.sp()).withComputeDtype(o.dtype()));
                 AdamW opt = new AdamW(ParamGroup.decayMatricesOnly(engine.parameters(), 1e-4, 0.1), 0.9, 0.95, 1e-8)) {
                int dpIndex = mesh.index(MeshDim.DP_REPLICATE) * shape.dpShard() + mesh.index(MeshDim.DP_SHARD);
                double[] seconds = new double[o.steps()];
                for (int step = -o.warmup(); step < o.steps(); step++) {
                    try (Scope s = Scope.open("step")) {
                        List<long[]> docs = new ArrayList<>();
                        for (int d = 0; d < dpSize; d++) {
                            docs.addAll(documents(cfg.vocabSize(), o.tokens(), o.docs(), 31L * step + d));
                        }
                        // Documents go round-robin to data-parallel ranks: reorder so rank d gets its own.
                        List<long[]> ordered = new ArrayList<>();
                        for (int k = 0; k < o.docs(); k++) {
                            for (int d = 0; d < dpSize; d++) {
                                ordered.add(docs.get(d * o.docs() + k));
                            }
                        }
                        world.barrier();
                        long start = System.nanoTime();
                        TextModelParallel.LocalBatch local = TextModelParallel.collate(ordered, dpIndex, dpSize,
                                mesh.index(MeshDim.SP), shape.sp(), o.sp().sharding());
                        engine.beginStep();
                        engine.setSequenceLayout(local.layout());
                        Tensor[] loss = TextModelParallel.loss(model, engine, local.batch(), TextModelParallel.CHUNK);
                        engine.backward(loss[0]);
                        engine.clipGradNorm(1.0);
                        opt.step();
                        opt.zeroGrad();
                        world.barrier();
                        double sec = (System.nanoTime() - start) / 1e9;
                        if (step >= 0) {
                            seconds[step] = sec;
                        }
                        if (world.rank() == 0) {
                            System.out.printf(Locale.ROOT, "%s step %d: loss %.4f, %.3f s%n", step < 0 ? "warmup" : "    ",
                                    step, loss[1].item(), sec);
                        }
                    }
                }
                return seconds;
            }
        });
        report(o, shape, times.get(0));
    }

    /** The plain single-device loop: model.loss, backward, clip, AdamW. */
    static double[] baseline(Options o, TextModelConfig cfg) throws Exception {
        try (CausalLm model = new CausalLm(cfg, 1);
             AdamW opt = new AdamW(ParamGroup.decayMatricesOnly(model.namedParameters(), 1e-4, 0.1), 0.9, 0.95, 1e-8)) {
            double[] seconds = new double[o.steps()];
            for (int step = -o.warmup(); step < o.steps(); step++) {
                try (Scope s = Scope.open("step")) {
                    List<long[]> docs = documents(cfg.vocabSize(), o.tokens(), o.docs(), 31L * step);
                    long start = System.nanoTime();
                    var out = model.loss(dev.panomni.modalities.text.model.PackedBatch.of(docs.toArray(long[][]::new)));
                    out.loss().backward();
                    dev.panomni.nn.optim.GradClip.clipGradNorm(model.parameters(), 1.0);
                    opt.step();
                    opt.zeroGrad();
                    double sec = (System.nanoTime() - start) / 1e9;
                    if (step >= 0) {
                        seconds[step] = sec;
                    }
                    System.out.printf(Locale.ROOT, "%s step %d: loss %.4f, %.3f s (baseline)%n",
                            step < 0 ? "warmup" : "    ", step, out.loss().item(), sec);
                }
            }
            return seconds;
        }
    }

    static void report(Options o, MeshShape shape, double[] t) {
        int dpSize = o.baseline() ? 1 : shape.dpReplicate() * shape.dpShard();
        double total = 0;
        for (double v : t) {
            total += v;
        }
        double mean = total / t.length;
        long tokens = (long) o.tokens() * dpSize;
        int ranks = o.baseline() ? 1 : shape.worldSize();
        System.out.printf(Locale.ROOT, "mean step %.3f s: %.1f tokens/s over %d ranks (%.1f tokens/s per rank)%n",
                mean, tokens / mean, ranks, tokens / mean / ranks);
    }
}
