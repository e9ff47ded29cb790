package dev.panomni.bench.parallel;

import dev.panomni.bench.train.BenchmarkModels;
import dev.panomni.bindings.NativeLibrary;
import dev.panomni.kernels.runtime.CudaDevice;
import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.kernels.runtime.DeviceOutOfMemoryException;
import dev.panomni.kernels.runtime.KernelProfile;
import dev.panomni.modalities.text.model.CausalLm;
import dev.panomni.modalities.text.model.PackedBatch;
import dev.panomni.modalities.text.model.TextModelConfig;
import dev.panomni.nn.optim.AdamW;
import dev.panomni.parallel.engine.ParallelModel;
import dev.panomni.parallel.engine.ParallelOptions;
import dev.panomni.parallel.mesh.DeviceMesh;
import dev.panomni.parallel.mesh.MeshDim;
import dev.panomni.parallel.mesh.MeshShape;
import dev.panomni.parallel.sp.SequenceParallelMode;
import dev.panomni.parallel.text.TextModelParallel;
import dev.panomni.tensor.Backends;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.BlockAttentionKernels;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.function.IntConsumer;
import java.util.function.IntFunction;
import java.util.function.LongFunction;

/**
 * Multi-GPU scaling and long-context runs of the parallel engine, to set beside PyTorch FSDP2
 * (bench/scripts/torch_fsdp_train_step.py; bench/scripts/scaling_compare.sh runs both). Ranks are
 * threads of this JVM, rank r on cuda:r, talking through NCCL ({@code --device cpu}: CPU threads
 * over the in-process communicator, for small models). Every line starting with "[scaling]" is a
 * result.
 *
 * <p><b>Scaling</b> ({@code --gpus 1,2}): for each rank count N, the model FSDP-sharded over N
 * (dp_shard = N; for MoE models also ep = N unless {@code --ep} says otherwise), each rank training
 * on its own B x S tokens per step (B random documents of S tokens packed into one row, drawn as
 * {@link dev.panomni.bench.train.TrainStepRunner} draws them: rank r's stream is seeded with r, so
 * rank 0 sees TrainStepRunner's batches), fp32 master shards and AdamW state, bf16 gathered
 * parameters and compute. Prints tokens/s per GPU and each rank's peak device memory (the pool's
 * high-water mark), and with several counts the per-GPU throughput at the largest count as a share
 * of the smallest's. N = 1 runs through the same engine (a world of one): TrainStepRunner's figure
 * is the no-engine baseline.
 *
 * <p><b>Long context</b> ({@code --sp ulysses|ring --seq-sweep 8192,16384,...}): one document of S
 * tokens per step, sequence-parallel over all N ranks (sp = N, parameters FSDP-sharded over the
 * same ranks). The model is built once; each S trains its warmup and timed steps in turn until one
 * fails (a device out of memory, most likely: the ranks' communicators are aborted, everything is
 * freed and the sweep stops). Prints tokens/s for each length that trained and the longest.
 *
 * <p>Activation checkpointing: the engine runs every FSDP unit (each decoder layer) without
 * recording and recomputes it in the backward, so only the layers' inputs are kept: per-layer
 * checkpointing is always on in both modes (TrainStepRunner keeps every activation instead).
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp ... \
 *     dev.panomni.bench.parallel.ScalingRunner --model qwen3 --gpus 1,2 [--steps 3 --warmup 2]
 * java ... ScalingRunner --model qwen3 --gpus 2 --sp ulysses --seq-sweep 8192,16384,32768,65536
 * </pre>
 */
public final class ScalingRunner {
    private ScalingRunner() {
    }

    public static void main(String[] args) {
        ScalingOptions o;
        try {
            o = ScalingOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("ScalingRunner: " + e.getMessage());
            System.exit(2);
            return;
        }
        int status;
        try {
            String unusable = o.cuda() ? cudaProblem(o) : null;
            if (unusable != null) {
                System.out.println("[scaling] cannot run: " + unusable);
                status = 2;
            } else {
                status = run(o, System.out);
            }
        } catch (Exception e) {
            System.out.println("[scaling] failed: " + e);
            e.printStackTrace(System.out);
            status = 1;
        }
        System.out.flush();
        // Rank threads, NCCL's watchdog and the CPU pool must not keep a finished benchmark alive.
        System.exit(status);
    }

    /** Why the GPUs asked for cannot be used, or null when they can. */
    private static String cudaProblem(ScalingOptions o) {
        if (!CudaRuntime.isAvailable()) {
            return "no CUDA device: " + CudaRuntime.unavailableReason() + " (use --device cpu for the CPU path)";
        }
        if (!NativeLibrary.NCCL.isAvailable()) {
            return "NCCL (libnccl.so.2) was not found; set PANOMNI_NCCL_LIB or install libnccl2";
        }
        int needed = 0;
        for (int g : o.gpus()) {
            needed = Math.max(needed, g);
        }
        if (CudaRuntime.deviceCount() < needed) {
            return "--gpus asks for " + needed + " GPUs (one rank per GPU), this machine has " + CudaRuntime.deviceCount();
        }
        return null;
    }

    /**
     * Runs the scaling or the long-context mode, printing to {@code out}.
     *
     * @return the exit status: 0, or 1 when a scaling run failed (a sweep that stops at a length is a result, not a failure)
     */
    static int run(ScalingOptions o, PrintStream out) throws Exception {
        if (!BenchmarkModels.isBenchmarkShape(o.model()) && o.layers() > 0) {
            throw new IllegalArgumentException("--layers applies to qwen3 and qwen3_moe only");
        }
        TextModelConfig cfg = BenchmarkModels.isBenchmarkShape(o.model()) ? BenchmarkModels.config(o.model(), o.layers())
                : ParallelThroughput.config(o.model());
        out.printf(Locale.ROOT, "[scaling] note: the engine recomputes every decoder layer (FSDP unit) in the backward: "
                + "per-layer activation checkpointing is on in every run below%n");
        return o.longContext() ? longContext(o, cfg, out) : scaling(o, cfg, out);
    }

    // ------------------------------------------------------------------ scaling

    private static int scaling(ScalingOptions o, TextModelConfig cfg, PrintStream out) throws Exception {
        List<Measurement> done = new ArrayList<>();
        int status = 0;
        for (int n : o.gpus()) {
            int ep = o.epFor(n, cfg.experts());
            MeshShape shape = new MeshShape(1, n, 1, ep);
            shape.validate(n, cfg.heads(), cfg.kvHeads(), cfg.experts(), true);
            LongFunction<String> what = params -> String.format(Locale.ROOT, "panomni %s (%d layers%s) fsdp %d, ep %d%s, "
                            + "B%d S%d per GPU, %s, %s", o.model(), cfg.layers(), parameters(params), n, ep,
                    ep > 1 ? " by " + o.dispatch().name().toLowerCase(Locale.ROOT).replace('_', '-') : "", o.batch(),
                    o.seq(), computeDtype(o).name().toLowerCase(Locale.ROOT), hardware(o, n));
            PhaseResults results = new PhaseResults(n, new long[] {(long) o.batch() * o.seq() * n});
            try {
                RankThreads.run(n, o.cuda(), Duration.ofSeconds(o.timeoutSec()), rank -> {
                    trainRank(rank, cfg, shape, o.engineOptions().withSequenceParallel(SequenceParallelMode.ULYSSES),
                            o.warmup(), o.steps(), 1,
                            phase -> dataParallelBatches(rank.rank(), o.batch(), o.seq(), cfg.vocabSize()), results,
                            phase -> { }, out);
                    return null;
                });
                Measurement m = results.measurement(0);
                done.add(m);
                out.printf(Locale.ROOT, "[scaling] %s: %.0f tokens/s per GPU (%.0f total), step %.3f s, %s%n",
                        what.apply(m.parameters()), m.tokensPerSecondPerRank(), m.tokensPerSecond(), m.meanStep(),
                        m.peaks());
            } catch (Exception e) {
                out.printf(Locale.ROOT, "[scaling] %s: failed: %s%n", what.apply(-1), describe(e));
                e.printStackTrace(out);
                status = 1;
            }
        }
        if (done.size() >= 2) {
            Measurement base = done.get(0);
            Measurement top = done.get(done.size() - 1);
            double share = top.tokensPerSecondPerRank() / base.tokensPerSecondPerRank();
            out.printf(Locale.ROOT, "[scaling] panomni %s per-GPU throughput at %d GPUs: %.0f tokens/s = %.1f%% of %d GPU%s "
                            + "(%.0f tokens/s); target >= 90%%: %s%n", o.model(), top.ranks(), top.tokensPerSecondPerRank(),
                    share * 100, base.ranks(), base.ranks() == 1 ? "" : "s", base.tokensPerSecondPerRank(),
                    share >= 0.9 ? "met" : "not met");
        }
        return status;
    }

    /** Rank r's batches: B documents of S uniform random tokens per step, from a stream seeded with r. */
    static BatchSource dataParallelBatches(int rank, int batch, int seq, int vocab) {
        Random rng = new Random(rank);
        return () -> {
            long[][] docs = new long[batch][seq];
            for (long[] d : docs) {
                for (int t = 0; t < seq; t++) {
                    d[t] = rng.nextInt(vocab);
                }
            }
            return docs;
        };
    }

    // ------------------------------------------------------------------ long context

    /**
     * The sweep runs as one job: the model is built and sharded once, then each length trains its
     * steps in turn. A failure at some length (a device out of memory, most likely) aborts the job,
     * frees everything and ends the sweep: longer lengths would need more memory still.
     */
    private static int longContext(ScalingOptions o, TextModelConfig cfg, PrintStream out) throws Exception {
        String mode = o.sp().name().toLowerCase(Locale.ROOT);
        int[] lengths = o.seqSweep();
        for (int n : o.gpus()) {
            String what = String.format(Locale.ROOT, "panomni long-context %s %s (%d layers) sp %d, fsdp %d, one "
                            + "document per step, %s, %s", mode, o.model(), cfg.layers(), n, n,
                    computeDtype(o).name().toLowerCase(Locale.ROOT), hardware(o, n));
            if (o.sp() == SequenceParallelMode.RING && n > 1) {
                String missing = missingBlockAttention(o.cuda() ? Device.cuda(0) : Device.CPU);
                if (missing != null) {
                    out.printf(Locale.ROOT, "[scaling] %s: skipped: ring attention needs BlockAttentionKernels on this "
                            + "device and %s; Ulysses (--sp ulysses) does not need them%n", what, missing);
                    continue;
                }
            }
            MeshShape shape = new MeshShape(1, 1, n, 1);
            shape.validate(n, cfg.heads(), cfg.kvHeads(), cfg.experts(), o.sp() == SequenceParallelMode.ULYSSES);
            long[] tokens = new long[lengths.length];
            for (int i = 0; i < lengths.length; i++) {
                tokens[i] = lengths[i];
            }
            PhaseResults results = new PhaseResults(n, tokens);
            Exception failure = null;
            try {
                RankThreads.run(n, o.cuda(), Duration.ofSeconds(o.timeoutSec()), rank -> {
                    trainRank(rank, cfg, shape, o.engineOptions(), o.warmup(), o.steps(), lengths.length,
                            phase -> sharedDocument(lengths[phase], cfg.vocabSize()), results, phase -> {
                                Measurement m = results.measurement(phase);
                                out.printf(Locale.ROOT, "[scaling] %s: S%d trained: %.0f tokens/s per GPU (%.0f total), "
                                                + "step %.3f s, %s%n", what, lengths[phase], m.tokensPerSecondPerRank(),
                                        m.tokensPerSecond(), m.meanStep(), m.peaks());
                            }, out);
                    return null;
                });
            } catch (Exception e) {
                failure = e;
            }
            SweepResult r = SweepResult.of(lengths, results, failure);
            if (r.stoppedAt() > 0) {
                out.printf(Locale.ROOT, "[scaling] %s: S%d did not train: %s%n", what, r.stoppedAt(), describe(failure));
                if (!isOutOfMemory(failure)) {
                    failure.printStackTrace(out);
                }
            } else if (failure != null) {
                out.printf(Locale.ROOT, "[scaling] %s: failed after the last length: %s%n", what, describe(failure));
            }
            if (r.longest() > 0) {
                out.printf(Locale.ROOT, "[scaling] %s: longest that trained: S%d at %.0f tokens/s per GPU (%.0f total)%s%n",
                        what, r.longest(), r.measurement().tokensPerSecondPerRank(), r.measurement().tokensPerSecond(),
                        r.stoppedAt() > 0 ? "; S" + r.stoppedAt() + " did not" : "; every length asked for trained");
            } else {
                out.printf(Locale.ROOT, "[scaling] %s: no length trained%n", what);
            }
        }
        return 0;
    }

    /** The same single document of S tokens on every rank (a fresh one each step, equal across ranks). */
    static BatchSource sharedDocument(int seq, int vocab) {
        Random rng = new Random(0);
        return () -> {
            long[] d = new long[seq];
            for (int t = 0; t < seq; t++) {
                d[t] = rng.nextInt(vocab);
            }
            return new long[][] {d};
        };
    }

    /**
     * The outcome of a sweep: the longest length that trained and its measurement (0 and null when
     * none did), and the length that stopped it (0 when every length trained).
     */
    record SweepResult(int longest, Measurement measurement, int stoppedAt) {
        /** From the phases the job completed and how it ended ({@code failure} null when it ran to the end). */
        static SweepResult of(int[] lengths, PhaseResults results, Exception failure) {
            int completed = results.completed();
            int longest = completed == 0 ? 0 : lengths[completed - 1];
            Measurement best = completed == 0 ? null : results.measurement(completed - 1);
            int stopped = failure != null && completed < lengths.length ? lengths[completed] : 0;
            return new SweepResult(longest, best, stopped);
        }
    }

    /** Why {@code device}'s backend cannot run ring attention, or null when it can. */
    static String missingBlockAttention(Device device) {
        try {
            Backends.forDevice(device).kernels(BlockAttentionKernels.class);
            return null;
        } catch (UnsupportedOperationException e) {
            return "they are missing (" + e.getMessage() + ")";
        }
    }

    // ------------------------------------------------------------------ one rank

    /** A rank's documents for each step, host arrays. */
    @FunctionalInterface
    interface BatchSource {
        long[][] next();
    }

    /**
     * Trains one rank through {@code phases} phases of {@code warmup + steps} steps each (the
     * model built and sharded once): the model FSDP-sharded over the mesh, each step's documents
     * packed and cut for this rank's place in the sequence-parallel group, loss, backward with
     * reduce-scattered gradients, AdamW (lr 1e-4, weight decay 0.1, as TrainStepRunner). After each
     * phase every rank stores its result in {@code results}, and once all have (a barrier) rank 0
     * calls {@code phaseDone}.
     */
    static void trainRank(RankThreads.Rank rank, TextModelConfig cfg, MeshShape shape, ParallelOptions engineOptions,
                          int warmup, int steps, int phases, IntFunction<BatchSource> sources, PhaseResults results,
                          IntConsumer phaseDone, PrintStream out) {
        Device device = rank.device();
        boolean cuda = device.type() == Device.Type.CUDA;
        CudaDevice dev = cuda ? CudaRuntime.device(device) : null;
        DeviceMesh mesh = rank.mesh(shape);
        ParallelOptions options = engineOptions.withComputeDtype(cuda ? DType.BF16 : DType.F32);
        SequenceParallelMode sp = options.sequenceParallel();
        try (CausalLm model = new CausalLm(cfg, 0)) {
            long parameters = model.parameterCount();
            if (cuda) {
                model.to(device);       // F32: the engine's master shards are cut from it
            }
            try (ParallelModel engine = new ParallelModel(model, TextModelParallel.plan(), mesh, options);
                 AdamW opt = new AdamW(engine.parameters(), 1e-4, 0.1)) {
                int spIndex = mesh.index(MeshDim.SP);
                for (int phase = 0; phase < phases; phase++) {
                    BatchSource source = sources.apply(phase);
                    if (cuda) {
                        dev.synchronize();
                        dev.resetPoolPeak();
                    }
                    double[] seconds = new double[steps];
                    for (int step = -warmup; step < steps; step++) {
                        List<long[]> docs = List.of(source.next());
                        try (Scope s = Scope.open("step")) {
                            rank.world().barrier();
                            long start = System.nanoTime();
                            TextModelParallel.LocalBatch local = TextModelParallel.collate(docs, 0, 1, spIndex,
                                    shape.sp(), sp.sharding());
                            PackedBatch batch = cuda ? local.batch().to(device) : local.batch();
                            engine.beginStep();
                            engine.setSequenceLayout(local.layout());
                            Tensor[] loss = TextModelParallel.loss(model, engine, batch, TextModelParallel.CHUNK);
                            engine.backward(loss[0]);
                            opt.step();
                            opt.zeroGrad();
                            float value = loss[1].item();
                            if (cuda) {
                                dev.synchronize();
                            }
                            rank.world().barrier();
                            double sec = (System.nanoTime() - start) / 1e9;
                            if (step >= 0) {
                                seconds[step] = sec;
                            }
                            if (KernelProfile.ENABLED && rank.rank() == 0 && step == -1) {
                                KernelProfile.reset();     // every rank's launches after the warmup
                            }
                            if (rank.rank() == 0) {
                                out.printf(Locale.ROOT, "%s step %d: loss %.4f, %.3f s%n",
                                        step < 0 ? "warmup" : "      ", step, value, sec);
                            }
                        }
                    }
                    if (KernelProfile.ENABLED && rank.rank() == 0) {
                        KernelProfile.report(out, steps * rank.world().size(), 40);   // per GPU and step
                    }
                    results.put(phase, rank.rank(), new RankResult(seconds, cuda ? dev.poolUsedPeakBytes() : -1,
                            parameters));
                    rank.world().barrier();
                    if (rank.rank() == 0) {
                        phaseDone.accept(phase);
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ reporting

    private static String parameters(long n) {
        return n < 0 ? "" : String.format(Locale.ROOT, n < 10_000_000 ? ", %.2fM parameters" : ", %.0fM parameters",
                n / 1e6);
    }

    private static DType computeDtype(ScalingOptions o) {
        return o.cuda() ? DType.BF16 : DType.F32;
    }

    private static String hardware(ScalingOptions o, int n) {
        if (!o.cuda()) {
            return n + " CPU rank thread" + (n == 1 ? "" : "s");
        }
        return n + " x " + CudaRuntime.device(Device.cuda(0)).name();
    }

    /** Whether a device allocation failure is among {@code e}'s causes or suppressed exceptions. */
    static boolean isOutOfMemory(Throwable e) {
        return find(e, new HashSet<>()) != null;
    }

    private static DeviceOutOfMemoryException find(Throwable e, Set<Throwable> seen) {
        if (e == null || !seen.add(e)) {
            return null;
        }
        if (e instanceof DeviceOutOfMemoryException oom) {
            return oom;
        }
        for (Throwable s : e.getSuppressed()) {
            DeviceOutOfMemoryException f = find(s, seen);
            if (f != null) {
                return f;
            }
        }
        return find(e.getCause(), seen);
    }

    /** One line for a failure: the out-of-memory message when there is one. */
    static String describe(Throwable e) {
        DeviceOutOfMemoryException oom = find(e, new HashSet<>());
        if (oom != null) {
            return "out of memory: " + oom.getMessage();
        }
        return e.toString();
    }
}
