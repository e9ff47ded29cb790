package dev.panomni.nn.optim;

import dev.panomni.nn.StateDictException;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.HostElements;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Layout;
import dev.panomni.tensor.ops.Views;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What every optimizer here shares: parameter groups, per-parameter state slots (F32 tensors of the
 * parameter's shape, created at the parameter's first update), per-parameter step counts, the
 * learning-rate multiplier, and the state dict.
 *
 * <p>Mixed precision: a parameter stored in BF16 or F16 gets an F32 {@value #MASTER} slot, a copy
 * of the parameter taken at its first update. The update is computed on the master; the master's
 * new value, rounded to nearest even, is written back into the low-precision parameter, so small
 * updates accumulate in the master instead of being rounded away. The master is part of the state
 * dict, so a resumed run continues from the same F32 values. Because the master is authoritative,
 * write new values into a low-precision parameter only before its first update (or also write the
 * master).
 */
public abstract class AbstractOptimizer implements Optimizer {
    /** Slot name of the F32 master copy of a low-precision parameter. */
    public static final String MASTER = "master";
    /** State dict key of the optimizer's step count, and suffix of each parameter's update count. */
    public static final String STEP = "step";

    private final String kind;
    private final List<ParamGroup> groups;
    private final Scope scope;
    private final Map<String, ParamState> state = new LinkedHashMap<>();
    private final Tensor stepTensor;
    private double lrMultiplier = 1.0;
    private long steps;
    private boolean closed;

    /** The state of one parameter: its slots by name and its update count. */
    protected static final class ParamState {
        private final Map<String, Tensor> slots = new LinkedHashMap<>();
        private final Tensor stepTensor;
        private long step;

        private ParamState(Tensor stepTensor) {
            this.stepTensor = stepTensor;
        }

        /** Slot {@code name}, or null when this parameter has none by that name. */
        public Tensor slot(String name) {
            return slots.get(name);
        }

        /** Updates of this parameter so far, including the one being applied inside {@link #update}. */
        public long step() {
            return step;
        }
    }

    /**
     * One parameter's share of a step.
     *
     * @param group the parameter's group
     * @param name  its dotted name
     * @param param the parameter
     * @param grad  its gradient: contiguous, the parameter's dtype and device
     * @param state its state (slots exist; {@code state.step()} already counts this update)
     */
    protected record Update(ParamGroup group, String name, Tensor param, Tensor grad, ParamState state) {
    }

    protected AbstractOptimizer(String kind, List<ParamGroup> groups) {
        this.kind = kind;
        this.groups = List.copyOf(groups);
        Set<String> names = new HashSet<>();
        for (ParamGroup g : this.groups) {
            for (Map.Entry<String, Tensor> e : g.params().entrySet()) {
                if (!names.add(e.getKey())) {
                    throw new IllegalArgumentException(kind + ": parameter '" + e.getKey()
                            + "' appears in more than one group");
                }
                Tensor p = e.getValue();
                p.checkLive();
                if (!p.dtype().isFloating() || !p.isLeaf()) {
                    throw new IllegalArgumentException(kind + ": parameter '" + e.getKey()
                            + "' must be a floating leaf tensor, got " + p.describe());
                }
                if (STEP.equals(e.getKey())) {
                    throw new IllegalArgumentException(kind + ": a parameter may not be named '" + STEP
                            + "' (the state dict uses that key)");
                }
            }
        }
        this.scope = Scope.detached(kind + " state");
        this.stepTensor = hostCounter();
    }

    /** Names of the F32 slots (besides {@value #MASTER}) this optimizer keeps for {@code param}, in order. */
    protected abstract List<String> slotNames(Tensor param);

    /** Applies one step to {@code batch}, all on {@code device} (one fused kernel call per device). */
    protected abstract void update(Device device, List<Update> batch);

    /** The effective learning rate of {@code group} for the coming step. */
    protected final double lr(ParamGroup group) {
        return group.lr() * lrMultiplier;
    }

    /** Whether {@code param} is stored in a precision that needs an F32 master. */
    protected static boolean lowPrecision(Tensor param) {
        return param.dtype() == DType.BF16 || param.dtype() == DType.F16;
    }

    // ---------------------------------------------------------------- stepping

    @Override
    public final void step() {
        checkOpen();
        Map<Device, List<Update>> byDevice = new LinkedHashMap<>();
        try (Scope s = Scope.open(kind + ".step")) {
            GradMode.noGrad(() -> {
                for (ParamGroup g : groups) {
                    for (Map.Entry<String, Tensor> e : g.params().entrySet()) {
                        String name = e.getKey();
                        Tensor p = e.getValue();
                        checkParam(name, p);
                        Tensor grad = p.grad();
                        if (grad == null) {
                            continue;
                        }
                        Tensor ready = prepareGrad(name, p, grad);
                        ParamState st = state.get(name);
                        if (st == null) {
                            st = newState(name, p);
                            state.put(name, st);
                        }
                        byDevice.computeIfAbsent(p.device(), d -> new ArrayList<>())
                                .add(new Update(g, name, p, ready, st));
                    }
                }
                for (List<Update> batch : byDevice.values()) {
                    for (Update u : batch) {
                        u.state().step++;
                    }
                }
                for (Map.Entry<Device, List<Update>> e : byDevice.entrySet()) {
                    update(e.getKey(), e.getValue());
                }
            });
        }
        for (List<Update> batch : byDevice.values()) {
            for (Update u : batch) {
                HostElements.setLong(u.state().stepTensor.data(), DType.I64, 0, u.state().step);
            }
        }
        steps++;
        HostElements.setLong(stepTensor.data(), DType.I64, 0, steps);
    }

    private void checkParam(String name, Tensor p) {
        if (p.isReleased()) {
            throw new IllegalStateException(kind + ": parameter '" + name + "' was released; the module was closed "
                    + "or converted (Module.to) after this optimizer was created: convert first, then create the "
                    + "optimizer");
        }
    }

    private Tensor prepareGrad(String name, Tensor p, Tensor grad) {
        grad.checkLive();
        if (!Arrays.equals(grad.shape(), p.shape())) {
            throw new IllegalStateException(kind + ": gradient of '" + name + "' has shape " + Shapes.str(grad.shape())
                    + ", parameter " + Shapes.str(p.shape()));
        }
        if (!grad.device().equals(p.device())) {
            throw new IllegalStateException(kind + ": gradient of '" + name + "' is on " + grad.device()
                    + ", parameter on " + p.device());
        }
        Tensor g = grad.dtype() == p.dtype() ? grad : Layout.cast(grad, p.dtype());
        return g.isContiguous() ? g : Views.contiguous(g);
    }

    private ParamState newState(String name, Tensor p) {
        ParamState st = new ParamState(hostCounter());
        try (Scope s = Scope.open("optimizer.state")) {
            GradMode.noGrad(() -> {
                for (String slot : allSlots(p)) {
                    Tensor t = slot.equals(MASTER) ? Layout.cast(p, DType.F32)
                            : Tensor.zeros(DType.F32, p.device(), p.shape());
                    t = Views.contiguous(t);
                    t.setName(name + "." + slot);
                    st.slots.put(slot, t.moveTo(scope));
                }
            });
        }
        return st;
    }

    private List<String> allSlots(Tensor p) {
        List<String> slots = new ArrayList<>(slotNames(p));
        if (lowPrecision(p)) {
            slots.add(MASTER);
        }
        return slots;
    }

    private Tensor hostCounter() {
        try (Scope s = Scope.open("optimizer.counter")) {
            return Tensor.zeros(DType.I64, Device.CPU).moveTo(scope);
        }
    }

    // ---------------------------------------------------------------- accessors

    @Override
    public final void zeroGrad() {
        for (ParamGroup g : groups) {
            for (Tensor p : g.params().values()) {
                if (!p.isReleased()) {
                    p.setGrad(null);
                }
            }
        }
    }

    @Override
    public final List<ParamGroup> paramGroups() {
        return groups;
    }

    @Override
    public final void setLrMultiplier(double multiplier) {
        if (!(multiplier >= 0) || Double.isInfinite(multiplier)) {
            throw new IllegalArgumentException(kind + ": learning-rate multiplier must be finite and >= 0, got "
                    + multiplier);
        }
        this.lrMultiplier = multiplier;
    }

    @Override
    public final double lrMultiplier() {
        return lrMultiplier;
    }

    @Override
    public final long stepCount() {
        return steps;
    }

    /** The state slots of parameter {@code name} (empty before its first update). */
    public final Map<String, Tensor> stateOf(String name) {
        ParamState st = state.get(name);
        return st == null ? Map.of() : Collections.unmodifiableMap(st.slots);
    }

    // ---------------------------------------------------------------- state dict

    @Override
    public final Map<String, Tensor> stateDict() {
        checkOpen();
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put(STEP, stepTensor);
        state.forEach((name, st) -> {
            st.slots.forEach((slot, t) -> out.put(name + "." + slot, t));
            out.put(name + "." + STEP, st.stepTensor);
        });
        return out;
    }

    @Override
    public final void loadStateDict(Map<String, Tensor> sd) {
        checkOpen();
        List<String> missing = new ArrayList<>();
        List<String> mismatches = new ArrayList<>();
        Set<String> used = new HashSet<>();
        Map<String, Tensor> present = new LinkedHashMap<>();
        if (sd.containsKey(STEP)) {
            used.add(STEP);
            checkCounter(STEP, sd.get(STEP), mismatches);
        } else {
            missing.add(STEP);
        }
        for (ParamGroup g : groups) {
            for (Map.Entry<String, Tensor> e : g.params().entrySet()) {
                String name = e.getKey();
                Tensor p = e.getValue();
                List<String> keys = new ArrayList<>();
                for (String slot : allSlots(p)) {
                    keys.add(name + "." + slot);
                }
                keys.add(name + "." + STEP);
                boolean any = keys.stream().anyMatch(sd::containsKey);
                if (!any) {
                    continue;
                }
                present.put(name, p);
                for (String k : keys) {
                    Tensor t = sd.get(k);
                    if (t == null) {
                        missing.add(k);
                        continue;
                    }
                    used.add(k);
                    t.checkLive();
                    if (k.endsWith("." + STEP)) {
                        checkCounter(k, t, mismatches);
                    } else if (!Arrays.equals(t.shape(), p.shape())) {
                        mismatches.add(k + ": checkpoint shape " + Shapes.str(t.shape()) + ", parameter shape "
                                + Shapes.str(p.shape()));
                    } else if (!t.dtype().isFloating()) {
                        mismatches.add(k + ": checkpoint dtype " + t.dtype() + ", expected a floating dtype (F32)");
                    }
                }
            }
        }
        List<String> unexpected = new ArrayList<>();
        for (String k : sd.keySet()) {
            if (!used.contains(k)) {
                unexpected.add(k);
            }
        }
        if (!missing.isEmpty() || !unexpected.isEmpty() || !mismatches.isEmpty()) {
            throw new StateDictException(kind, missing, unexpected, mismatches);
        }
        try (Scope s = Scope.open("optimizer.load")) {
            GradMode.noGrad(() -> present.forEach((name, p) -> {
                ParamState st = state.get(name);
                if (st == null) {
                    st = newState(name, p);
                    state.put(name, st);
                }
                for (Map.Entry<String, Tensor> slot : st.slots.entrySet()) {
                    Tensor src = sd.get(name + "." + slot.getKey());
                    Tensor dst = slot.getValue();
                    Layout.copyInto(src.device().equals(dst.device()) ? src : Layout.toDevice(src, dst.device()), dst);
                }
                st.step = sd.get(name + "." + STEP).toLongArray()[0];
                HostElements.setLong(st.stepTensor.data(), DType.I64, 0, st.step);
            }));
        }
        steps = sd.get(STEP).toLongArray()[0];
        HostElements.setLong(stepTensor.data(), DType.I64, 0, steps);
    }

    private static void checkCounter(String key, Tensor t, List<String> mismatches) {
        t.checkLive();
        if (t.numel() != 1 || t.dtype().isFloating()) {
            mismatches.add(key + ": expected a one-element integer step count, got " + t.describe());
        }
    }

    // ---------------------------------------------------------------- lifetime

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            state.clear();
            scope.close();
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(kind + " was closed");
        }
    }
}
