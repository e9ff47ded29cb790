package dev.panomni.parallel.engine;

import dev.panomni.nn.Module;
import dev.panomni.nn.optim.GradClip;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.ReduceOp;
import dev.panomni.parallel.mesh.DeviceMesh;
import dev.panomni.parallel.mesh.MeshDim;
import dev.panomni.parallel.plan.ParallelPlan;
import dev.panomni.parallel.plan.Placement;
import dev.panomni.parallel.sp.SequenceContext;
import dev.panomni.parallel.sp.SequenceLayout;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.RecomputeStash;
import dev.panomni.tensor.ops.Layout;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A single-device {@link Module} with a {@link ParallelPlan} applied over a {@link DeviceMesh}: the
 * one place where a model meets communication. The model's code is unchanged; this engine
 * <ul>
 *   <li>shards every parameter (FSDP / ZeRO-3): F32 master shards, their gradients and, through
 *       {@link #parameters()}, the optimizer state exist only for this rank's rows;</li>
 *   <li>runs each FSDP unit through {@link #runUnit}: the unit's parameters are all-gathered (the
 *       next unit's gather is prefetched while this one computes), the unit runs without
 *       recording, and the gathered tensors are freed at once; the backward gathers them again,
 *       recomputes the unit and reduce-scatters its gradients asynchronously (see {@link UnitNode});</li>
 *   <li>keeps the root unit (parameters outside every unit: embeddings, final norm, head)
 *       gathered from {@link #beginStep} to the end of {@link #backward};</li>
 *   <li>with HSDP (dp_replicate > 1) all-reduces the reduce-scattered shards over the replicas;</li>
 *   <li>installs expert-parallel executors and sequence-parallel attention into the modules that
 *       accept them ({@link dev.panomni.nn.PluggableExperts}, {@link dev.panomni.nn.PluggableAttention}).</li>
 * </ul>
 *
 * <p>Gradients are summed over all ranks (never averaged): the caller normalizes its loss by the
 * global count of tokens, so the sum equals the single-device gradient of the whole batch.
 *
 * <p>A step: {@code beginStep(); loss = ...model forward with units run by runUnit...;
 * backward(loss); clipGradNorm(max); optimizer.step(); optimizer.zeroGrad();}
 */
public final class ParallelModel implements AutoCloseable {
    private final Module model;
    private final ParallelPlan plan;
    private final DeviceMesh mesh;
    private final ParallelOptions options;
    private final Scope scope = Scope.detached("ParallelModel shards");
    private final Map<String, ShardedParameter> params = new LinkedHashMap<>();
    private final Map<String, Communicator> shardGroups = new LinkedHashMap<>();
    private final Map<String, FsdpUnit> units = new LinkedHashMap<>();
    private final Map<Module, FsdpUnit> unitByModule = new IdentityHashMap<>();
    private final List<FsdpUnit> moduleOrder = new ArrayList<>();
    private final FsdpUnit root;
    private final List<FsdpUnit> reducing = new ArrayList<>();
    private final Device device;
    private final SequenceContext sequence = new SequenceContext();
    private List<FsdpUnit> forwardOrder = new ArrayList<>();
    private List<FsdpUnit> lastOrder = List.of();
    private boolean inStep;

    /**
     * Shards {@code model} (whose parameters every rank initialized identically) and installs the
     * parallel hooks. Afterwards the model's parameter slots hold empty placeholders except while
     * a unit runs: use {@link #parameters()} for the optimizer and {@link #gatherFullParameters()}
     * to read full values.
     */
    public ParallelModel(Module model, ParallelPlan plan, DeviceMesh mesh, ParallelOptions options) {
        this.model = model;
        this.plan = plan;
        this.mesh = mesh;
        this.options = options;
        Map<String, Tensor> named = model.namedParameters();
        checkNoAliasedNames(model, named);
        this.device = named.isEmpty() ? Device.CPU : named.values().iterator().next().device();
        units.put(ParallelPlan.ROOT_UNIT, new FsdpUnit(ParallelPlan.ROOT_UNIT, model, options.computeDtype()));
        Map<String, Map<String, ShardBucket>> buckets = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : named.entrySet()) {
            String name = e.getKey();
            Tensor full = e.getValue();
            Placement placement = plan.placementOf(name);
            Groups g = groupsFor(placement, name, full);
            ShardLayout layout = g.layout;
            String unitName = plan.unitOf(name);
            ShardedParameter sp = new ShardedParameter(name, placement, layout, makeShard(name, full, layout), unitName);
            params.put(name, sp);
            shardGroups.put(name, g.shard);
            FsdpUnit unit = units.computeIfAbsent(unitName, n -> new FsdpUnit(n, model, options.computeDtype()));
            Map<String, ShardBucket> byKey = buckets.computeIfAbsent(unitName, n -> new LinkedHashMap<>());
            ShardBucket bucket = byKey.get(g.key);
            if (bucket == null) {
                bucket = new ShardBucket(g.shard, g.replicate, device);
                byKey.put(g.key, bucket);
                unit.buckets().add(bucket);
            }
            bucket.add(sp);
        }
        this.root = units.get(ParallelPlan.ROOT_UNIT);
        try (Scope s = Scope.open("shard.placeholders")) {
            for (ShardedParameter p : params.values()) {
                model.replaceParameter(p.name(), Tensor.empty(options.computeDtype(), device, 0));
            }
        }
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            FsdpUnit u = units.get(e.getKey());
            if (u != null && u != root) {
                unitByModule.put(e.getValue(), u);
                moduleOrder.add(u);
            }
        }
        ParallelHooks.install(model, plan, mesh, options, sequence);
    }

    /** The shard group, the replicate group, the layout of one parameter, and a key for bucketing. */
    private record Groups(Communicator shard, Communicator replicate, ShardLayout layout, String key) {
    }

    private Groups groupsFor(Placement placement, String name, Tensor full) {
        long rows = full.rank() == 0 ? 1 : full.size(0);
        return switch (placement) {
            case Placement.Replicated r -> new Groups(null, mesh.group(MeshDim.WORLD),
                    new ShardLayout(full.shape(), 0, rows, 1, 0), "replicated");
            case Placement.Sharded s -> switch (s.over()) {
                case FSDP -> dense(MeshDim.FSDP, MeshDim.DP_REPLICATE, full, rows);
                case WORLD -> dense(MeshDim.WORLD, null, full, rows);
                case DP_SHARD -> {
                    if (mesh.size(MeshDim.SP) != 1) {
                        throw new IllegalArgumentException("parameter '" + name + "': sharding over dp_shard alone "
                                + "needs sp = 1 (sp ranks compute different tokens, so their gradients must be "
                                + "reduced too); shard over FSDP (dp_shard x sp) instead");
                    }
                    yield dense(MeshDim.DP_SHARD, MeshDim.DP_REPLICATE, full, rows);
                }
                default -> throw new IllegalArgumentException("parameter '" + name + "': placement " + s
                        + " is not supported; shard dense parameters over FSDP, DP_SHARD or WORLD");
            };
            case Placement.ExpertSharded x -> {
                int ep = mesh.size(MeshDim.EP);
                if (full.rank() < 1 || rows % ep != 0) {
                    throw new IllegalArgumentException("parameter '" + name + "' of shape " + Shapes.str(full.shape())
                            + " is expert-sharded, so dim 0 counts experts and must be divisible by ep (" + ep + ")");
                }
                long local = rows / ep;
                Communicator g = mesh.group(MeshDim.EP_FSDP);
                yield new Groups(g, mesh.group(MeshDim.DP_REPLICATE),
                        new ShardLayout(full.shape(), mesh.index(MeshDim.EP) * local, local, g.size(), g.rank()), "experts");
            }
        };
    }

    private Groups dense(MeshDim over, MeshDim replicate, Tensor full, long rows) {
        Communicator g = mesh.group(over);
        return new Groups(g, replicate == null ? null : mesh.group(replicate),
                new ShardLayout(full.shape(), 0, rows, g.size(), g.rank()), "dense:" + over);
    }

    private Tensor makeShard(String name, Tensor full, ShardLayout layout) {
        try (Scope s = Scope.open("shard")) {
            return GradMode.noGrad(() -> {
                Tensor shard = Tensor.zeros(DType.F32, full.device(), layout.shardShape());
                long valid = layout.validRows();
                if (valid > 0) {
                    Tensor rowsView = full.rank() == 0 ? full.view(1) : full;
                    Layout.copyInto(rowsView.narrow(0, layout.globalRowStart(), valid), shard.narrow(0, 0, valid));
                }
                shard.requiresGrad(true);
                shard.setName(name);
                return shard.moveTo(scope);
            });
        }
    }

    /** A tensor registered under two names would keep a stale handle under the second one. */
    private static void checkNoAliasedNames(Module model, Map<String, Tensor> named) {
        Map<Tensor, String> byTensor = new IdentityHashMap<>();
        named.forEach((k, v) -> byTensor.put(v, k));
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
            String first = byTensor.get(e.getValue());
            if (first != null && !first.equals(e.getKey())) {
                throw new IllegalArgumentException("parameter '" + first + "' is also registered as '" + e.getKey()
                        + "'; the sharding engine needs each parameter under one name (tie weights by reading the "
                        + "other module's parameter instead of registering it twice)");
            }
        }
    }

    // ---------------------------------------------------------------- accessors

    public Module module() {
        return model;
    }

    public DeviceMesh mesh() {
        return mesh;
    }

    public ParallelPlan plan() {
        return plan;
    }

    public ParallelOptions options() {
        return options;
    }

    /** This rank's F32 master shards by parameter name: give these to the optimizer. */
    public Map<String, Tensor> parameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        params.forEach((k, v) -> out.put(k, v.shard()));
        return out;
    }

    /** Every parameter's shard and layout, by name, in the model's order. */
    public Map<String, ShardedParameter> shardedParameters() {
        return Collections.unmodifiableMap(params);
    }

    /** The FSDP unit names, root first, then in module order. */
    public List<String> unitNames() {
        return List.copyOf(units.keySet());
    }

    /**
     * The layout of the batch about to run, from the collator's {@link dev.panomni.parallel.sp.SequenceShard}:
     * sequence-parallel attention needs it (the document boundaries of the whole sequence).
     */
    public void setSequenceLayout(SequenceLayout layout) {
        if (layout.sp() != mesh.size(MeshDim.SP)) {
            throw new IllegalArgumentException("sequence layout for sp = " + layout.sp() + " on a mesh with sp = "
                    + mesh.size(MeshDim.SP));
        }
        if (layout.sharding() != options.sequenceParallel().sharding() && mesh.size(MeshDim.SP) > 1) {
            throw new IllegalArgumentException(options.sequenceParallel() + " sequence parallelism needs "
                    + options.sequenceParallel().sharding() + " sharding, the batch was sharded " + layout.sharding());
        }
        sequence.set(layout);
    }

    // ---------------------------------------------------------------- steps

    /** Gathers the root unit; the forward follows. */
    public void beginStep() {
        if (inStep) {
            throw new IllegalStateException("beginStep: the previous step was not ended (call backward or endStep)");
        }
        inStep = true;
        forwardOrder = new ArrayList<>();
        try {
            root.install();
            if (options.prefetch()) {
                FsdpUnit first = nextAfter(-1);
                if (first != null) {
                    first.prefetch();
                }
            }
        } catch (RuntimeException e) {
            abandon();
            throw e;
        }
    }

    /**
     * Runs {@code fn} as FSDP unit {@code unitModule} (a module the plan names as a unit; any other
     * module runs {@code fn} directly, its parameters belonging to the gathered root). Returns fn's
     * outputs, recorded as one autograd node when grad mode is on.
     */
    public Tensor[] runUnit(Module unitModule, UnitFunction fn, Tensor... inputs) {
        FsdpUnit unit = unitByModule.get(unitModule);
        if (unit == null) {
            return fn.apply(inputs);
        }
        if (!inStep) {
            throw new IllegalStateException("runUnit(" + unit.name() + ") outside a step: call beginStep() first");
        }
        int position = forwardOrder.size();
        forwardOrder.add(unit);
        Tensor[] outs;
        RecomputeStash stash = new RecomputeStash(unit.name());
        try {
            unit.install();
            if (options.prefetch()) {
                FsdpUnit next = nextAfter(position);
                if (next != null && next != unit) {
                    next.prefetch();
                }
            }
            outs = GradMode.isEnabled()
                    ? GradMode.noGrad(() -> stash.recording(() -> fn.apply(inputs)))
                    : fn.apply(inputs);
        } catch (RuntimeException e) {
            stash.close();
            abandon();
            throw e;
        }
        // The last unit of the forward is the first of the backward: keep it gathered (when a backward follows).
        boolean keep = GradMode.isEnabled() && isLastUnit(unit, position);
        if (!keep) {
            unit.uninstall();
        }
        if (GradMode.isEnabled()) {
            for (int i = 0; i < outs.length; i++) {
                for (Tensor in : inputs) {
                    if (outs[i] == in) {
                        outs[i] = in.alias();
                    }
                }
                if (!outs[i].dtype().isFloating()) {
                    throw new IllegalArgumentException("unit " + unit.name() + ": output " + i + " is "
                            + outs[i].describe() + "; unit outputs carry gradients and must be floating");
                }
            }
            Autograd.record(new UnitNode(this, unit, fn, inputs, outs.length, position, stash), outs);
        }
        return outs;
    }

    /** Whether {@code unit} at forward position {@code position} is expected to be the forward's last. */
    private boolean isLastUnit(FsdpUnit unit, int position) {
        if (!lastOrder.isEmpty()) {
            return position == lastOrder.size() - 1 && lastOrder.get(position) == unit;
        }
        return !moduleOrder.isEmpty() && moduleOrder.get(moduleOrder.size() - 1) == unit;
    }

    /** The unit expected after forward position {@code position}: last step's order, else module order. */
    private FsdpUnit nextAfter(int position) {
        if (position + 1 < lastOrder.size()) {
            return lastOrder.get(position + 1);
        }
        if (!lastOrder.isEmpty()) {
            return null;
        }
        if (position < 0) {
            return moduleOrder.isEmpty() ? null : moduleOrder.get(0);
        }
        int i = moduleOrder.indexOf(forwardOrder.get(position));
        return i >= 0 && i + 1 < moduleOrder.size() ? moduleOrder.get(i + 1) : null;
    }

    void beforeUnitBackward(int position) {
        if (options.prefetch() && position > 0) {
            forwardOrder.get(position - 1).prefetch();
        }
    }

    void reduceStarted(FsdpUnit unit) {
        reducing.add(unit);
    }

    /**
     * Back-propagates {@code loss} through the model, reduces every gradient into this rank's shard
     * gradients (waiting for the reduce-scatters started during the backward, then all-reducing over
     * the replicas), and ends the step. After it, {@link #parameters()} carry their gradients.
     */
    public void backward(Tensor loss) {
        if (!inStep) {
            throw new IllegalStateException("backward outside a step: call beginStep() before the forward");
        }
        try {
            loss.backward();
            root.startReduce();
            reducing.add(root);
            root.uninstall();
            finishGradients();
        } catch (RuntimeException e) {
            abandon();
            throw e;
        }
        endStep();
    }

    /** Ends a step without a backward (evaluation): frees the root unit and any unit kept gathered. */
    public void endStep() {
        for (FsdpUnit u : units.values()) {
            u.discardPrefetch();
            u.uninstall();
        }
        lastOrder = forwardOrder;
        inStep = false;
    }

    private void finishGradients() {
        List<ShardBucket> pending = new ArrayList<>();
        for (FsdpUnit u : reducing) {
            for (ShardBucket b : u.buckets()) {
                if (b.reducing() && !pending.contains(b)) {
                    b.awaitReduceScatter();
                    pending.add(b);
                }
            }
        }
        for (ShardBucket b : pending) {
            b.finishReduce();
        }
        reducing.clear();
    }

    /** Frees everything in flight after a failure (the collective error is rethrown by the caller). */
    private void abandon() {
        for (FsdpUnit u : units.values()) {
            u.abandon();
        }
        reducing.clear();
        inStep = false;
    }

    // ---------------------------------------------------------------- gradients and values

    /**
     * Clips all gradients together to L2 norm {@code maxNorm} (as {@link GradClip#clipGradNorm} on a
     * single device): the squared norms of the shards are all-reduced over the world, each element
     * counted once (replicas and replicated parameters only on one rank).
     *
     * @return the global norm before clipping
     */
    public double clipGradNorm(double maxNorm) {
        try (Scope s = Scope.open("clipGradNorm")) {
            List<Tensor> counted = new ArrayList<>();
            List<Tensor> all = new ArrayList<>();
            boolean firstReplica = mesh.index(MeshDim.DP_REPLICATE) == 0;
            for (ShardedParameter p : params.values()) {
                if (p.shard().grad() == null) {
                    continue;
                }
                all.add(p.shard());
                boolean count = switch (p.placement()) {
                    case Placement.Replicated r -> mesh.rank() == 0;
                    case Placement.Sharded sh -> sh.over() == MeshDim.WORLD || firstReplica;
                    case Placement.ExpertSharded x -> firstReplica;
                };
                if (count) {
                    counted.add(p.shard());
                }
            }
            float local = 0;
            if (!counted.isEmpty()) {
                float n = GradClip.totalNorm(counted).item();
                local = n * n;
            }
            // On the parameters' device: a device communicator (NCCL) moves only device tensors.
            Tensor sq = Tensor.full(DType.F32, device, local, 1);
            mesh.group(MeshDim.WORLD).allReduce(sq, ReduceOp.SUM).await();
            double norm = Math.sqrt(sq.item());
            if (!all.isEmpty()) {
                GradClip.scaleToMaxNorm(all, Tensor.full(DType.F32, device, norm), maxNorm);
            }
            return norm;
        }
    }

    /**
     * Every parameter's full value (global shape, F32), gathered from the shards: a collective that
     * every rank calls. For tests, export and evaluation on one rank; owned by the current scope.
     */
    public Map<String, Tensor> gatherFullParameters() {
        return gatherFull(ShardedParameter::shard);
    }

    /**
     * Every parameter's full reduced gradient (global shape, F32; zeros where a shard has none),
     * gathered like {@link #gatherFullParameters()}: for tests and diagnostics.
     */
    public Map<String, Tensor> gatherFullGradients() {
        return gatherFull(p -> p.shard().grad() != null ? p.shard().grad()
                : Tensor.zeros(DType.F32, device, p.layout().shardShape()));
    }

    private Map<String, Tensor> gatherFull(java.util.function.Function<ShardedParameter, Tensor> pick) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Scope target = Scope.current();
        try (Scope s = Scope.open("gatherFull")) {
            GradMode.noGrad(() -> {
                for (ShardedParameter p : params.values()) {
                    ShardLayout l = p.layout();
                    Communicator g = shardGroups.get(p.name());
                    Tensor shard = pick.apply(p).contiguous().view(l.shardElements());
                    Tensor all = shard;
                    if (g != null && g.size() > 1) {
                        all = Tensor.empty(DType.F32, device, g.size() * l.shardElements());
                        g.allGather(shard, all).await();
                    }
                    Tensor region = all.narrow(0, 0, l.regionRows() * l.rowElements()).contiguous();
                    Tensor full = region;
                    if (p.placement() instanceof Placement.ExpertSharded && mesh.size(MeshDim.EP) > 1) {
                        Communicator ep = mesh.group(MeshDim.EP);
                        full = Tensor.empty(DType.F32, device, ep.size() * region.numel());
                        ep.allGather(region, full).await();
                    }
                    out.put(p.name(), full.view(l.globalShape()).moveTo(target));
                }
            });
        }
        return out;
    }

    /** Releases the shards, their gradients and anything in flight. The model keeps its placeholders. */
    @Override
    public void close() {
        abandon();
        scope.close();
    }
}
