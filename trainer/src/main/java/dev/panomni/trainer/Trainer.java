package dev.panomni.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panomni.modalities.text.model.CausalLm;
import dev.panomni.modalities.text.model.CausalLmOutput;
import dev.panomni.modalities.text.model.DecoderBackbone;
import dev.panomni.modalities.text.model.HuggingFaceWeights;
import dev.panomni.modalities.text.model.PackedBatch;
import dev.panomni.modalities.text.model.TextGeneration;
import dev.panomni.modalities.text.model.TextModelConfig;
import dev.panomni.nn.StateDictException;
import dev.panomni.nn.optim.AdamW;
import dev.panomni.nn.optim.GradClip;
import dev.panomni.nn.optim.LrSchedule;
import dev.panomni.nn.optim.ParamGroup;
import dev.panomni.tensor.Backends;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.Checkpoint;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.GradNormKernels;
import dev.panomni.trainer.checkpoint.CheckpointException;
import dev.panomni.trainer.checkpoint.CheckpointManager;
import dev.panomni.trainer.checkpoint.LoadedCheckpoint;
import dev.panomni.trainer.checkpoint.RngState;
import dev.panomni.trainer.checkpoint.SafetensorsStore;
import dev.panomni.trainer.checkpoint.TrainingState;
import dev.panomni.trainer.config.CheckpointConfig;
import dev.panomni.trainer.config.ConfigLoader;
import dev.panomni.trainer.config.DeviceChoice;
import dev.panomni.trainer.config.OnNonFinite;
import dev.panomni.trainer.config.Precision;
import dev.panomni.trainer.config.RunConfig;
import dev.panomni.trainer.config.TrainConfig;
import dev.panomni.trainer.config.DataFormat;
import dev.panomni.trainer.data.Batch;
import dev.panomni.trainer.data.ChatMessage;
import dev.panomni.trainer.data.DataLoader;
import dev.panomni.trainer.data.HfTokenizerAdapter;
import dev.panomni.trainer.data.LoaderOptions;
import dev.panomni.trainer.data.Split;
import dev.panomni.trainer.data.TokenizerAdapter;
import dev.panomni.trainer.export.HfConfigJson;
import dev.panomni.trainer.metrics.DeviceInfo;
import dev.panomni.trainer.metrics.DevicePeaks;
import dev.panomni.trainer.metrics.MetricsLog;
import dev.panomni.trainer.metrics.ModelFlops;
import dev.panomni.trainer.metrics.Plots;
import dev.panomni.trainer.metrics.ProgressLine;
import dev.panomni.trainer.metrics.RunSummary;
import dev.panomni.trainer.metrics.StepMetrics;
import dev.panomni.trainer.recipe.Recipe;
import dev.panomni.trainer.recipe.RecipeException;
import dev.panomni.trainer.recipe.Recipes;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The training loop: builds the model of a {@link RunConfig} through its {@link Recipe}, then for
 * each optimizer step accumulates the gradients of {@code train.grad_accum} micro-batches (each
 * weighted by its share of the step's target tokens, so the step's gradient is that of the mean
 * loss over all of them), clips the global gradient norm, and applies AdamW at the scheduled
 * learning rate. Around that: periodic validation, checkpoints (model, optimizer, data position,
 * step) every {@code checkpoint.every} steps and at the end, resume, metrics, plots, the progress
 * line and the summary.
 *
 * <p>Failure behavior: a NaN or infinite loss or gradient norm stops the run before the update
 * (or skips the update, {@code train.on_non_finite: skip}); nothing is saved after it, and a save
 * is refused when a parameter is not finite, so the last good checkpoint is never replaced by a
 * bad one. Ctrl-C (with {@link TrainerOptions#handleInterrupt()}) finishes the current step, saves
 * a checkpoint and returns {@link TrainingResult.Status#INTERRUPTED}.
 *
 * <p>Resuming on the CPU reproduces the uninterrupted run's losses exactly: the model, the
 * optimizer's moments and step counts, and the data loader's position are restored, the schedule
 * is a function of the step, and the run draws no other random numbers after initialization.
 */
public final class Trainer {
    /** A run that skips this many steps in a row stops: the model is not recovering. */
    static final int MAX_CONSECUTIVE_SKIPS = 10;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final RunConfig config;
    private final TrainerOptions options;
    private final PrintStream out;
    private final PrintStream err;
    private final AtomicBoolean stopRequested = new AtomicBoolean();
    /** Set when the JVM is exiting: AWT cannot start then, so plots wait for the next run. */
    private volatile boolean jvmExiting;
    private final CountDownLatch finished = new CountDownLatch(1);
    private boolean warnedNoValidation;

    public Trainer(RunConfig config, TrainerOptions options) {
        this.config = config;
        this.options = options;
        this.out = options.out();
        this.err = options.err();
    }

    /**
     * Asks a running trainer to stop after the current step, save a checkpoint and return
     * {@link TrainingResult.Status#INTERRUPTED} (what Ctrl-C does).
     */
    public void requestStop() {
        stopRequested.set(true);
    }

    /**
     * Trains until {@code train.steps}, an interruption or a non-finite value.
     *
     * @throws RecipeException     when the model cannot be built as configured
     * @throws CheckpointException when resuming or saving fails
     * @throws dev.panomni.trainer.data.DataException for missing or unusable data
     */
    public TrainingResult run() {
        Thread hook = options.handleInterrupt() ? new Thread(this::onShutdown, "panomni-interrupt") : null;
        if (hook != null) {
            Runtime.getRuntime().addShutdownHook(hook);
        }
        try {
            return train();
        } finally {
            finished.countDown();
            if (hook != null) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // the hook is running: it returns now that training has finished
                }
            }
        }
    }

    /** The JVM is exiting (Ctrl-C, SIGTERM): let the loop save, and keep the JVM alive until it has. */
    private void onShutdown() {
        if (finished.getCount() == 0) {
            return;
        }
        jvmExiting = true;
        stopRequested.set(true);
        err.println();
        err.println("interrupted: finishing the current step, then saving a checkpoint...");
        try {
            if (!finished.await(10, TimeUnit.MINUTES)) {
                err.println("gave up waiting for the checkpoint after 10 minutes; the previous checkpoint is intact");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------ setup

    /** The device of {@code choice}: CUDA only where the CUDA backend reports itself available. */
    public static Device resolveDevice(DeviceChoice choice) {
        boolean cuda = Backends.isAvailable(Device.Type.CUDA);
        return switch (choice) {
            case CPU -> Device.CPU;
            case AUTO -> cuda ? Device.cuda(0) : Device.CPU;
            case CUDA -> {
                if (!cuda) {
                    throw new RecipeException("train.device = cuda, but no CUDA backend is available here (no "
                            + "panomni-kernels on the class path, or no driver or GPU); use train.device: auto or cpu");
                }
                yield Device.cuda(0);
            }
        };
    }

    /** The learning-rate schedule of {@code t} (its step argument is 0-based: the update about to run). */
    public static LrSchedule schedule(TrainConfig t) {
        return switch (t.schedule()) {
            case CONSTANT -> LrSchedule.constant(t.lr(), t.warmupSteps());
            case COSINE -> LrSchedule.warmupCosine(t.lr(), t.warmupSteps(), t.steps(), t.minLrRatio());
            case LINEAR -> LrSchedule.warmupLinear(t.lr(), t.warmupSteps(), t.steps(), t.minLrRatio());
        };
    }

    /**
     * AdamW's parameter groups: weight decay on matrices; never on vectors (norm weights, biases);
     * on the token embedding only with {@code train.decay_embeddings}.
     */
    public static List<ParamGroup> paramGroups(Map<String, Tensor> params, TrainConfig t) {
        Map<String, Tensor> decay = new LinkedHashMap<>();
        Map<String, Tensor> noDecay = new LinkedHashMap<>();
        params.forEach((name, p) -> {
            boolean embedding = name.contains("embed_tokens");
            boolean decayed = p.rank() >= 2 && (t.decayEmbeddings() || !embedding);
            (decayed ? decay : noDecay).put(name, p);
        });
        List<ParamGroup> groups = new ArrayList<>();
        if (!decay.isEmpty()) {
            groups.add(new ParamGroup("decay", decay, t.lr(), t.weightDecay()));
        }
        if (!noDecay.isEmpty()) {
            groups.add(new ParamGroup("no_decay", noDecay, t.lr(), 0.0));
        }
        return groups;
    }

    // ------------------------------------------------------------------ the run

    private TrainingResult train() {
        TrainConfig t = config.train();
        Device device = resolveDevice(t.device());
        Precision compute = t.precision().resolve(device);
        boolean bf16 = compute == Precision.BF16 || config.model().dtype() == Precision.BF16;
        Recipe recipe = Recipes.forFamily(config.model().family());
        TokenizerAdapter tokenizer = recipe.tokenizer(config, options.baseDir());
        TextModelConfig arch = recipe.architecture(config.model(), options.baseDir());
        if (tokenizer.vocabSize() > arch.vocabSize()) {
            throw new RecipeException("the tokenizer has " + tokenizer.vocabSize() + " ids but the model's vocabulary is "
                    + arch.vocabSize() + " (model.vocab_size): use a tokenizer of the model, or a larger vocab_size");
        }
        if (!recipe.dataFormats().contains(config.data().format())) {
            throw new RecipeException("data.format " + config.data().format().name().toLowerCase(Locale.ROOT)
                    + " is not one the " + recipe.family().name().toLowerCase(Locale.ROOT) + " recipe trains on ("
                    + recipe.dataFormats() + ")");
        }

        CheckpointConfig cc = config.checkpoint();
        CheckpointManager checkpoints = new CheckpointManager(Path.of(cc.dir()), cc.keepLast(), new SafetensorsStore());
        checkpoints.cleanTemporary();
        Optional<Path> resumeFrom = checkpoints.resolveResume(cc.resume());
        if (options.requireResume() && resumeFrom.isEmpty()) {
            throw new CheckpointException("--resume: there is no complete checkpoint in " + checkpoints.root()
                    + " to resume from");
        }
        if (resumeFrom.isEmpty() && CheckpointConfig.NEVER.equals(cc.resume())
                && !checkpoints.completeCheckpoints().isEmpty()) {
            throw new CheckpointException("checkpoint.dir " + checkpoints.root() + " already holds checkpoints of an "
                    + "earlier run (latest " + checkpoints.latest().map(p -> p.getFileName().toString()).orElse("?")
                    + ") and checkpoint.resume is 'never': choose another checkpoint.dir, delete them, or resume "
                    + "(checkpoint.resume: auto)");
        }

        try (CausalLm model = recipe.build(arch, t.seed())) {
            if (resumeFrom.isEmpty() && config.model().hfPath() != null) {
                Path hf = resolve(config.model().hfPath());
                try {
                    HuggingFaceWeights.loadInto(model, hf);
                } catch (IOException | RuntimeException e) {
                    throw new RecipeException("loading the weights of model.hf_path = " + hf + " failed: "
                            + e.getMessage(), e);
                }
                out.println("loaded weights from " + hf);
            }
            if (!device.equals(Device.CPU)) {
                model.to(device);
            }
            if (bf16) {
                model.to(DType.BF16);
            }
            Map<String, Tensor> params = model.namedParameters();
            try (AdamW optimizer = new AdamW(paramGroups(params, t), t.beta1(), t.beta2(), t.eps());
                 DataLoader data = DataLoader.open(LoaderOptions.from(config), options.baseDir(), tokenizer, Split.TRAIN,
                         err::println)) {
                Run run = new Run(recipe, arch, tokenizer, model, params, optimizer, data, checkpoints, device,
                        bf16 ? Precision.BF16 : Precision.FP32);
                if (resumeFrom.isPresent()) {
                    run.resume(resumeFrom.get());
                }
                return run.loop();
            }
        }
    }

    private Path resolve(String path) {
        Path p = Path.of(path);
        return options.baseDir() == null || p.isAbsolute() ? p : options.baseDir().resolve(p);
    }

    /** One run's live state. */
    private final class Run {
        private final Recipe recipe;
        private final TextModelConfig arch;
        private final TokenizerAdapter tokenizer;
        private final CausalLm model;
        private final Map<String, Tensor> params;
        private final AdamW optimizer;
        private final DataLoader data;
        private final CheckpointManager checkpoints;
        private final Device device;
        private final Precision precision;
        private final TrainConfig t;
        private final LrSchedule schedule;
        private final DecoderBackbone.LayerRunner runner;

        private long step;
        private long tokensSeen;
        private double elapsedBefore;
        private long skippedSteps;
        private Double bestValLoss;
        private Path lastCheckpoint;
        private long lastSavedStep = -1;

        Run(Recipe recipe, TextModelConfig arch, TokenizerAdapter tokenizer, CausalLm model, Map<String, Tensor> params,
            AdamW optimizer, DataLoader data, CheckpointManager checkpoints, Device device, Precision precision) {
            this.recipe = recipe;
            this.arch = arch;
            this.tokenizer = tokenizer;
            this.model = model;
            this.params = params;
            this.optimizer = optimizer;
            this.data = data;
            this.checkpoints = checkpoints;
            this.device = device;
            this.precision = precision;
            this.t = config.train();
            this.schedule = schedule(t);
            this.runner = t.activationCheckpointing()
                    // Each layer keeps only its input; backward recomputes its activations.
                    ? (i, layer, x, positions, cu) -> Checkpoint.run(in -> layer.forward(in[0], positions, cu), x)
                    : DecoderBackbone.LayerRunner.DIRECT;
        }

        void resume(Path dir) {
            LoadedCheckpoint ckpt = checkpoints.open(dir);
            ckpt.restoreModel(params);
            try (Scope s = Scope.open("resume.optimizer")) {
                optimizer.loadStateDict(ckpt.readOptimizer());
            } catch (StateDictException e) {
                throw new CheckpointException(dir + ": the optimizer state does not fit this run (was train.precision "
                        + "or model.dtype changed?): " + e.getMessage(), e);
            }
            TrainingState st = ckpt.state();
            if (st.data() == null) {
                throw new CheckpointException(dir + ": state.json has no data loader position");
            }
            data.restore(st.data());
            step = st.step();
            tokensSeen = st.tokensSeen();
            elapsedBefore = st.elapsedSeconds();
            JsonNode extra = st.extra();
            if (extra != null) {
                skippedSteps = extra.path("skipped_steps").asLong(0);
                bestValLoss = extra.hasNonNull("best_val_loss") ? extra.get("best_val_loss").asDouble() : null;
            }
            JsonNode saved = st.scheduler();
            // Compared as text: a number read back may be another node type than the one written.
            if (saved != null && !saved.toString().equals(schedulerState().toString())) {
                err.println("note: the learning-rate schedule differs from the checkpoint's (" + saved + " then, "
                        + schedulerState() + " now); continuing with the current one");
            }
            lastCheckpoint = dir;
            lastSavedStep = step;
            out.println("resumed from " + dir + " at step " + step);
        }

        TrainingResult loop() {
            long total = t.steps();
            Path logDir = Path.of(config.logging().dir());
            DataShard shard = options.shard();
            int seqLen = config.data().seqLen();
            ProgressLine progress = new ProgressLine(total, ModelFlops.trainingFlopsPerToken(arch, seqLen),
                    DevicePeaks.peakFlops(DeviceInfo.name(device), precision));
            if (step == 0) {
                out.println(describe());
            }
            if (t.activationCheckpointing() && arch.experts() > 0) {
                // The router statistics of a checkpointed layer come from its forward without
                // recording, so the load-balancing loss is counted but sends no gradient to the router.
                err.println("note: with train.activation_checkpointing, the MoE load-balancing loss does not "
                        + "train the routers (only the language-model loss does)");
            }
            TrainingResult.Status status = TrainingResult.Status.COMPLETED;
            String stopMessage = null;
            int consecutiveSkips = 0;
            long runStart = System.nanoTime();
            try (MetricsLog metrics = MetricsLog.open(logDir.resolve("metrics.jsonl"), step)) {
                while (step < total) {
                    if (stopRequested.get()) {
                        status = TrainingResult.Status.INTERRUPTED;
                        break;
                    }
                    long started = System.nanoTime();
                    long stepNo = step + 1;
                    double multiplier = schedule.multiplierAt(step);
                    optimizer.setLrMultiplier(multiplier);

                    List<Batch> mine = new ArrayList<>();
                    long globalTargets = 0;
                    for (int j = 0; j < t.gradAccum() * shard.size(); j++) {
                        Batch b = data.next();
                        globalTargets += b.targetTokens();
                        if (shard.owns(j)) {
                            mine.add(b);
                        }
                    }
                    double loss = 0;
                    double objective = 0;
                    long stepTokens = 0;
                    for (int m = 0; m < mine.size(); m++) {
                        Batch b = mine.get(m);
                        double weight = b.targetTokens() / (double) globalTargets;
                        try (Scope s = Scope.open("micro-batch")) {
                            PackedBatch input = recipe.modelInput(b, device);
                            CausalLmOutput o = recipe.loss(model, input, runner);
                            Tensor l = options.interceptor().onLoss(stepNo, m, o.loss());
                            Arith.mulScalar(l, weight).backward();
                            objective += weight * l.item();
                            loss += weight * o.lmLoss().item();
                        }
                        stepTokens += b.tokens();
                    }
                    double gradNorm;
                    try (Scope s = Scope.open("clip")) {
                        gradNorm = (t.clipGrad() > 0 ? GradClip.clipGradNormTensor(params.values(), t.clipGrad())
                                : GradClip.totalNorm(params.values())).item();
                    }
                    if (!Double.isFinite(objective) || !Double.isFinite(gradNorm)) {
                        String what = nonFinite(stepNo, objective, gradNorm);
                        optimizer.zeroGrad();
                        if (t.onNonFinite() == OnNonFinite.STOP) {
                            stopMessage = what + ". The run stopped without updating or saving; " + lastGood()
                                    + ". Lower train.lr, keep train.clip_grad on, or set train.on_non_finite: skip.";
                            status = TrainingResult.Status.STOPPED;
                            break;
                        }
                        skippedSteps++;
                        consecutiveSkips++;
                        step = stepNo;
                        tokensSeen += stepTokens;
                        err.println(what + "; update skipped (" + skippedSteps + " skipped so far)");
                        if (consecutiveSkips >= MAX_CONSECUTIVE_SKIPS) {
                            stopMessage = consecutiveSkips + " steps in a row had non-finite values (the last: step "
                                    + stepNo + "); the run stopped without saving; " + lastGood();
                            status = TrainingResult.Status.STOPPED;
                            break;
                        }
                        if (!saveIfDue(metrics, logDir)) {
                            stopMessage = "parameters are not finite";
                            status = TrainingResult.Status.STOPPED;
                            break;
                        }
                        continue;
                    }
                    optimizer.step();
                    optimizer.zeroGrad();
                    consecutiveSkips = 0;
                    step = stepNo;
                    tokensSeen += stepTokens;
                    double seconds = (System.nanoTime() - started) / 1e9;
                    double elapsed = elapsedBefore + (System.nanoTime() - runStart) / 1e9;
                    StepMetrics record = new StepMetrics(step, loss, t.lr() * multiplier, gradNorm, stepTokens,
                            seconds > 0 ? stepTokens / seconds : 0, elapsed, memoryInUse(), null);
                    if (t.evalEvery() > 0 && (step % t.evalEvery() == 0 || step == total)) {
                        Double val = evaluate();
                        if (val != null) {
                            record = record.withValLoss(val);
                            bestValLoss = bestValLoss == null ? val : Math.min(bestValLoss, val);
                        }
                    }
                    metrics.append(record);
                    if (step == 1 || step % config.logging().every() == 0 || step == total || record.valLoss() != null) {
                        out.println(progress.render(record));
                    }
                    if (!saveIfDue(metrics, logDir)) {
                        stopMessage = "parameters are not finite";
                        status = TrainingResult.Status.STOPPED;
                        break;
                    }
                }
                if (status != TrainingResult.Status.STOPPED && step > lastSavedStep && step > 0) {
                    if (save(metrics, logDir) == null) {
                        status = TrainingResult.Status.STOPPED;
                        stopMessage = "parameters are not finite";
                    }
                }
                List<Path> files = new ArrayList<>(List.of(metrics.file()));
                files.addAll(plots(metrics, logDir));
                List<TrainingResult.Sample> samples = status == TrainingResult.Status.COMPLETED ? samples() : List.of();
                RunSummary summary = metrics.records().isEmpty() ? null
                        : RunSummary.of(metrics.records(), lastCheckpoint, files);
                switch (status) {
                    case COMPLETED -> {
                        if (summary != null) {
                            out.print(summary.render());
                        }
                        if (skippedSteps > 0) {
                            out.println("  " + skippedSteps + " steps skipped for non-finite values");
                        }
                    }
                    case INTERRUPTED -> out.println("stopped at step " + step + "; checkpoint " + lastCheckpoint
                            + " (run the same command again to continue from it)");
                    case STOPPED -> err.println("training stopped at step " + (step + 1) + ": " + stopMessage);
                }
                return new TrainingResult(status, step, metrics.records(), summary, lastCheckpoint, samples, stopMessage);
            }
        }

        /** Saves when {@code checkpoint.every} divides the step (before the last step); false when refused. */
        private boolean saveIfDue(MetricsLog metrics, Path logDir) {
            int every = config.checkpoint().every();
            if (every > 0 && step % every == 0 && step < t.steps()) {
                return save(metrics, logDir) != null;
            }
            return true;
        }

        /** Writes a checkpoint of the current step and the plots; null when the parameters are not finite. */
        private Path save(MetricsLog metrics, Path logDir) {
            List<String> bad = nonFiniteParameters();
            if (!bad.isEmpty()) {
                err.println("not saving step " + step + ": parameters hold NaN or infinite values ("
                        + abbreviate(bad) + "); " + lastGood());
                return null;
            }
            List<StepMetrics> records = metrics.records();
            double elapsed = records.isEmpty() ? elapsedBefore : records.get(records.size() - 1).elapsedSeconds();
            // The model draws its initialization from the seed and nothing random happens after it
            // (no dropout; the data order has its own state), so the generator state is the seed.
            TrainingState state = new TrainingState(step, tokensSeen, elapsed, schedulerState(),
                    Map.of("init", new RngState(t.seed(), 0)), data.state(), extra());
            Path dir = checkpoints.save(new dev.panomni.trainer.checkpoint.Checkpoint(params, optimizer.stateDict(),
                    state, ConfigLoader.toYaml(config)));
            lastCheckpoint = dir;
            lastSavedStep = step;
            plots(metrics, logDir);
            return dir;
        }

        /** The schedule's description: a function of the step, so this is all there is to restore. */
        private JsonNode schedulerState() {
            ObjectNode node = JSON.valueToTree(schedule);
            node.put("kind", schedule.getClass().getSimpleName());
            return node;
        }

        private JsonNode extra() {
            ObjectNode e = JSON.createObjectNode();
            e.put("family", recipe.family().name().toLowerCase(Locale.ROOT));
            e.set("architecture", HfConfigJson.of(arch, maxPositions(), precision == Precision.BF16 ? "bfloat16"
                    : "float32", null, tokenizer.eosId()));
            e.put("tokenizer", tokenizer instanceof HfTokenizerAdapter hf ? hf.source().toAbsolutePath().toString()
                    : "byte");
            e.put("precision", precision.name().toLowerCase(Locale.ROOT));
            e.put("skipped_steps", skippedSteps);
            if (bestValLoss != null) {
                e.put("best_val_loss", bestValLoss);
            }
            return e;
        }

        private int maxPositions() {
            Integer m = config.model().maxSeqLen();
            return m != null ? m : Math.max(config.data().seqLen(), 2048);
        }

        private List<Path> plots(MetricsLog metrics, Path logDir) {
            if (!config.logging().plots() || metrics.records().isEmpty() || jvmExiting) {
                return List.of();
            }
            try {
                return Plots.write(metrics.records(), logDir);
            } catch (IOException | RuntimeException | LinkageError e) {
                err.println("warning: plots not written to " + logDir + ": " + e);
                return List.of();
            }
        }

        /** Token-weighted mean loss over up to {@code train.eval_batches} held-out batches, or null when there are none. */
        private Double evaluate() {
            if (config.data().valFraction() <= 0) {
                return null;
            }
            DataShard shard = options.shard();
            double sum = 0;
            long targets = 0;
            model.eval();
            try (DataLoader val = DataLoader.open(LoaderOptions.from(config), options.baseDir(), tokenizer,
                    Split.VALIDATION, line -> { })) {
                for (int k = 0; k < t.evalBatches() * shard.size(); k++) {
                    Batch b = val.next();
                    if (b == null) {
                        break;
                    }
                    if (!shard.owns(k) || b.targetTokens() == 0) {
                        continue;
                    }
                    try (Scope s = Scope.open("eval")) {
                        double l = GradMode.noGrad(() -> recipe.loss(model, recipe.modelInput(b, device),
                                DecoderBackbone.LayerRunner.DIRECT).lmLoss().item());
                        sum += l * b.targetTokens();
                        targets += b.targetTokens();
                    }
                }
            } finally {
                model.train();
            }
            if (targets == 0) {
                if (!warnedNoValidation) {
                    err.println("note: the validation split is empty (data.val_fraction = " + config.data().valFraction()
                            + " held out no document); no validation loss");
                    warnedNoValidation = true;
                }
                return null;
            }
            return sum / targets;
        }

        private List<TrainingResult.Sample> samples() {
            List<String> prompts = config.logging().samplePrompts();
            List<TrainingResult.Sample> out = new ArrayList<>();
            if (prompts.isEmpty()) {
                return out;
            }
            model.eval();
            try {
                boolean chat = config.data().format() == DataFormat.CHAT;
                int stop = chat ? tokenizer.endOfTurnId() : tokenizer.eosId();
                for (String prompt : prompts) {
                    // Chat models see the prompt as a user turn, then the assistant's header.
                    int[] ids = chat ? tokenizer.encodeChatPrompt(List.of(new ChatMessage("user", prompt)))
                            : tokenizer.encodePrompt(prompt);
                    long[] feed = Arrays.stream(ids).asLongStream().toArray();
                    long[] gen = TextGeneration.generate(model, feed, new TextGeneration.Options(
                            config.logging().sampleTokens(), 0.0, 0, t.seed(), stop));
                    int n = gen.length;
                    if (n > 0 && gen[n - 1] == stop) {
                        n--;
                    }
                    int[] body = new int[n];
                    for (int i = 0; i < n; i++) {
                        body[i] = (int) gen[i];
                    }
                    out.add(new TrainingResult.Sample(prompt, tokenizer.decode(body)));
                }
            } finally {
                model.train();
            }
            return out;
        }

        /** Names of parameters holding a NaN or infinity (one sum-of-squares pass, one host read). */
        private List<String> nonFiniteParameters() {
            List<String> bad = new ArrayList<>();
            Tensor[] tensors = params.values().toArray(new Tensor[0]);
            if (tensors.length == 0) {
                return bad;
            }
            try (Scope s = Scope.open("checkParameters")) {
                Tensor partials = Tensor.empty(DType.F32, device, tensors.length);
                Backends.forDevice(device).kernels(GradNormKernels.class).sumOfSquares(tensors, partials);
                float[] sums = partials.toFloatArray();
                int i = 0;
                for (String name : params.keySet()) {
                    if (!Float.isFinite(sums[i++])) {
                        bad.add(name);
                    }
                }
            }
            return bad;
        }

        private String nonFinite(long stepNo, double objective, double gradNorm) {
            StringBuilder sb = new StringBuilder("step ").append(stepNo).append(": ");
            if (!Double.isFinite(objective)) {
                sb.append("the loss is ").append(objective);
            } else {
                sb.append("the gradient norm is ").append(gradNorm);
            }
            List<String> names = GradClip.nonFiniteGradients(params);
            if (!names.isEmpty()) {
                sb.append(" (non-finite gradients in ").append(abbreviate(names)).append(')');
            }
            return sb.toString();
        }

        private String lastGood() {
            return lastCheckpoint == null ? "no checkpoint had been written" : "the last good checkpoint, "
                    + lastCheckpoint + ", is untouched";
        }

        private Long memoryInUse() {
            return DeviceInfo.memoryInUse(device);
        }

        private String describe() {
            return String.format(Locale.ROOT, "training %s (%s, %.2fM parameters) on %s in %s: %d steps x %d "
                            + "micro-batch%s of %s; checkpoints in %s, metrics in %s",
                    recipe.family().name().toLowerCase(Locale.ROOT), arch.family(), model.parameterCount() / 1e6,
                    device, precision.name().toLowerCase(Locale.ROOT), t.steps(), t.gradAccum(),
                    t.gradAccum() == 1 ? "" : "es",
                    config.data().maxTokensPerBatch() != null ? "<= " + config.data().maxTokensPerBatch() + " tokens"
                            : t.microBatchSize() + " x " + config.data().seqLen() + " tokens",
                    checkpoints.root(), config.logging().dir());
        }
    }

    private static String abbreviate(List<String> names) {
        return names.size() <= 4 ? String.join(", ", names)
                : String.join(", ", names.subList(0, 4)) + " and " + (names.size() - 4) + " more";
    }
}
