package dev.panomni.nn;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Layout;
import dev.panomni.tensor.ops.Views;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * The base of every model part: a tree of named submodules, each holding named parameters and
 * buffers. Names are dotted paths from the root ({@code layers.3.mlp.gate_proj.weight}), in
 * registration order, so iteration, state dicts and parallel plans are deterministic.
 *
 * <p>Parameters are leaf tensors that require gradients. They, their gradients and the buffers are
 * owned by a detached {@link Scope} of the module that registered them, so they outlive the scopes
 * of training steps; {@link #close()} releases the whole tree.
 *
 * <p>Subclasses read their parameters through {@link #param(String)} rather than caching the tensor
 * in a field: {@link #to(Device)}, {@link #to(DType)} and {@link #replaceParameter} swap the
 * tensors, and a cached field would go stale. An optimizer holds parameter tensors, so convert a
 * model before creating its optimizer.
 *
 * <p>A module has no abstract {@code forward}: its signature differs per module (a norm takes one
 * tensor, attention takes several), and each module declares its own.
 */
public abstract class Module implements AutoCloseable {
    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Set<String> transientBuffers = new HashSet<>();
    private final Set<String> fixedDtypeBuffers = new HashSet<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private final Scope scope;
    private Module parent;
    private String nameInParent;
    private boolean training = true;
    private boolean closed;

    protected Module() {
        this.scope = Scope.detached(getClass().getSimpleName());
    }

    // ---------------------------------------------------------------- registration

    /**
     * Makes {@code value} this module's parameter {@code name}: a leaf that requires grad, owned by
     * this module. A non-contiguous value is copied (optimizers and checkpoints want dense
     * parameters); otherwise the module takes over the handle itself.
     *
     * @return the registered tensor
     */
    protected final Tensor registerParameter(String name, Tensor value) {
        checkNewName(name);
        value.checkLive();
        if (!value.dtype().isFloating()) {
            throw new IllegalArgumentException(describeSelf() + ": parameter '" + name + "' must be floating, got "
                    + value.describe());
        }
        if (!value.isLeaf()) {
            throw new IllegalArgumentException(describeSelf() + ": parameter '" + name + "' must be a leaf tensor; "
                    + value.describe() + " was produced by " + value.gradFn().op() + " (detach() it first)");
        }
        Tensor p = adopt(value);
        p.requiresGrad(true);
        p.setName(path() + name);
        parameters.put(name, p);
        return p;
    }

    /**
     * Makes {@code value} a buffer: state that is not trained (rotary tables, running statistics).
     * Persistent buffers are part of {@link #stateDict()}; transient ones (recomputable caches) are not.
     */
    protected final Tensor registerBuffer(String name, Tensor value, boolean persistent) {
        checkNewName(name);
        value.checkLive();
        Tensor b = adopt(value);
        b.setName(path() + name);
        buffers.put(name, b);
        if (!persistent) {
            transientBuffers.add(name);
        }
        return b;
    }

    /**
     * A buffer that {@link #to(DType)} leaves in its dtype (it still moves with {@link #to(Device)}):
     * constants whose precision the computation depends on, such as rotary frequencies, which must
     * stay F32 when the model computes in BF16.
     */
    protected final Tensor registerFixedDtypeBuffer(String name, Tensor value, boolean persistent) {
        Tensor b = registerBuffer(name, value, persistent);
        fixedDtypeBuffers.add(name);
        return b;
    }

    /** A persistent buffer (see {@link #registerBuffer(String, Tensor, boolean)}). */
    protected final Tensor registerBuffer(String name, Tensor value) {
        return registerBuffer(name, value, true);
    }

    /**
     * Makes {@code child} the submodule {@code name}; its parameters appear as {@code name.<their
     * name>}. Returns the child for chaining in constructors.
     */
    protected final <M extends Module> M registerModule(String name, M child) {
        checkNewName(name);
        if (child == this) {
            throw new IllegalArgumentException(describeSelf() + ": a module cannot contain itself");
        }
        Module c = child;
        children.put(name, c);
        c.parent = this;
        c.nameInParent = name;
        String prefix = c.path();
        c.forEachParameter(prefix, (n, t) -> t.setName(n), Collections.newSetFromMap(new IdentityHashMap<>()));
        c.forEachBuffer(prefix, (n, t) -> t.setName(n), true);
        return child;
    }

    /** This module's dotted path from its root plus a trailing dot ("" for a root). */
    private String path() {
        StringBuilder sb = new StringBuilder();
        for (Module m = this; m.parent != null; m = m.parent) {
            sb.insert(0, m.nameInParent + ".");
        }
        return sb.toString();
    }

    private Tensor adopt(Tensor value) {
        Tensor t = value;
        if (!value.isContiguous()) {
            try (Scope s = Scope.open("adopt")) {
                t = s.keep(GradMode.noGrad(() -> Layout.copy(value)));
            }
        }
        return t.moveTo(scope);
    }

    private void checkNewName(String name) {
        if (closed) {
            throw new IllegalStateException(describeSelf() + " is closed");
        }
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException(describeSelf() + ": name '" + name
                    + "' must be non-empty and contain no '.' (dots separate levels of the module tree)");
        }
        if (parameters.containsKey(name) || buffers.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException(describeSelf() + ": '" + name + "' is already registered");
        }
    }

    // ---------------------------------------------------------------- access

    /** This module's own parameter {@code name} (not dotted). */
    protected final Tensor param(String name) {
        Tensor t = parameters.get(name);
        if (t == null) {
            throw new IllegalArgumentException(describeSelf() + " has no parameter '" + name + "'; it has "
                    + parameters.keySet());
        }
        return t;
    }

    /** This module's own parameter {@code name}, or null when it has none by that name (optional bias). */
    protected final Tensor paramOrNull(String name) {
        return parameters.get(name);
    }

    /** This module's own buffer {@code name} (not dotted). */
    protected final Tensor buffer(String name) {
        Tensor t = buffers.get(name);
        if (t == null) {
            throw new IllegalArgumentException(describeSelf() + " has no buffer '" + name + "'; it has "
                    + buffers.keySet());
        }
        return t;
    }

    /** The direct submodules by name, in registration order. */
    public final Map<String, Module> namedChildren() {
        return Collections.unmodifiableMap(children);
    }

    /** This module (under "") and every descendant under its dotted path, depth first, in order. */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return out;
    }

    private void collectModules(String prefix, Map<String, Module> out) {
        out.put(prefix, this);
        for (Map.Entry<String, Module> e : children.entrySet()) {
            e.getValue().collectModules(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), out);
        }
    }

    /** The submodule at a dotted path ("" is this module). */
    public final Module module(String path) {
        if (path.isEmpty()) {
            return this;
        }
        Module m = this;
        for (String part : path.split("\\.")) {
            Module next = m.children.get(part);
            if (next == null) {
                throw new IllegalArgumentException(describeSelf() + " has no submodule '" + path + "' ('" + part
                        + "' not found among " + m.children.keySet() + ")");
            }
            m = next;
        }
        return m;
    }

    /**
     * Every parameter under its dotted name, own parameters first, then each child's in
     * registration order. A tensor registered under two names (tied weights) appears once, under
     * the first.
     */
    public final Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        forEachParameter("", out::put, Collections.newSetFromMap(new IdentityHashMap<>()));
        return out;
    }

    /** The parameters of {@link #namedParameters()}, in the same order. */
    public final List<Tensor> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** Every buffer (persistent and transient) under its dotted name. */
    public final Map<String, Tensor> namedBuffers() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        forEachBuffer("", out::put, true);
        return out;
    }

    /** Total number of parameter elements (tied tensors counted once). */
    public final long parameterCount() {
        long n = 0;
        for (Tensor t : namedParameters().values()) {
            n += t.numel();
        }
        return n;
    }

    private void forEachParameter(String prefix, BiConsumer<String, Tensor> sink, Set<Tensor> seen) {
        for (Map.Entry<String, Tensor> e : parameters.entrySet()) {
            if (seen.add(e.getValue())) {
                sink.accept(prefix + e.getKey(), e.getValue());
            }
        }
        for (Map.Entry<String, Module> e : children.entrySet()) {
            e.getValue().forEachParameter(prefix + e.getKey() + ".", sink, seen);
        }
    }

    private void forEachBuffer(String prefix, BiConsumer<String, Tensor> sink, boolean includeTransient) {
        for (Map.Entry<String, Tensor> e : buffers.entrySet()) {
            if (includeTransient || !transientBuffers.contains(e.getKey())) {
                sink.accept(prefix + e.getKey(), e.getValue());
            }
        }
        for (Map.Entry<String, Module> e : children.entrySet()) {
            e.getValue().forEachBuffer(prefix + e.getKey() + ".", sink, includeTransient);
        }
    }

    // ---------------------------------------------------------------- state dict

    /**
     * Parameters and persistent buffers by dotted name, in the order PyTorch uses (each module's
     * parameters, then its buffers, then its children). Tied tensors appear under every name. The
     * values are the module's own tensors, not copies: read or save them, do not close them.
     */
    public final Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collectState("", out);
        return out;
    }

    private void collectState(String prefix, Map<String, Tensor> out) {
        parameters.forEach((k, v) -> out.put(prefix + k, v));
        buffers.forEach((k, v) -> {
            if (!transientBuffers.contains(k)) {
                out.put(prefix + k, v);
            }
        });
        children.forEach((k, m) -> m.collectState(prefix + k + ".", out));
    }

    /**
     * Copies {@code state} into this module's parameters and persistent buffers, converting between
     * floating dtypes and moving across devices as needed. Every entry is checked before anything is
     * copied, so a failed load leaves the module unchanged.
     *
     * @param strict when true, missing and unexpected keys are errors; shape and dtype mismatches
     *               are errors either way
     * @return the keys that were missing from {@code state} and the keys of {@code state} that this
     *         module does not have (both empty after a strict load)
     * @throws StateDictException listing every missing key, unexpected key and mismatch
     */
    public final LoadResult loadStateDict(Map<String, Tensor> state, boolean strict) {
        Map<String, Tensor> own = stateDict();
        List<String> missing = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        List<String> mismatches = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : own.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src == null) {
                missing.add(e.getKey());
                continue;
            }
            src.checkLive();
            Tensor dst = e.getValue();
            if (!java.util.Arrays.equals(src.shape(), dst.shape())) {
                mismatches.add(e.getKey() + ": checkpoint shape " + Shapes.str(src.shape()) + ", model shape "
                        + Shapes.str(dst.shape()));
            } else if (src.dtype() != dst.dtype() && !(src.dtype().isFloating() && dst.dtype().isFloating())) {
                mismatches.add(e.getKey() + ": checkpoint dtype " + src.dtype() + " cannot be converted to model dtype "
                        + dst.dtype());
            }
        }
        for (String k : state.keySet()) {
            if (!own.containsKey(k)) {
                unexpected.add(k);
            }
        }
        if (!mismatches.isEmpty() || (strict && (!missing.isEmpty() || !unexpected.isEmpty()))) {
            throw new StateDictException(describeSelf(), missing, unexpected, mismatches);
        }
        try (Scope s = Scope.open("loadStateDict")) {
            GradMode.noGrad(() -> {
                for (Map.Entry<String, Tensor> e : own.entrySet()) {
                    Tensor src = state.get(e.getKey());
                    if (src == null) {
                        continue;
                    }
                    Tensor dst = e.getValue();
                    Tensor onDevice = src.device().equals(dst.device()) ? src : Layout.toDevice(src, dst.device());
                    Layout.copyInto(onDevice, dst);
                }
            });
        }
        return new LoadResult(List.copyOf(missing), List.copyOf(unexpected));
    }

    /** Keys a non-strict {@link #loadStateDict} skipped. */
    public record LoadResult(List<String> missingKeys, List<String> unexpectedKeys) {
    }

    // ---------------------------------------------------------------- modes and gradients

    /** Sets training mode on this module and all descendants; returns this. */
    public Module train(boolean on) {
        training = on;
        for (Module m : children.values()) {
            m.train(on);
        }
        return this;
    }

    /** Training mode on. */
    public final Module train() {
        return train(true);
    }

    /** Training mode off (evaluation). */
    public final Module eval() {
        return train(false);
    }

    public final boolean isTraining() {
        return training;
    }

    /** Drops every parameter's gradient (the next backward allocates fresh ones). */
    public final void zeroGrad() {
        for (Tensor p : namedParameters().values()) {
            p.setGrad(null);
        }
    }

    // ---------------------------------------------------------------- conversion

    /**
     * Moves parameters and buffers to {@code device}. Parameters become new leaf tensors (their
     * gradients are dropped); tied parameters stay tied. Create optimizers afterwards.
     */
    public final Module to(Device device) {
        convertTree(t -> t.device().equals(device) ? null : Layout.toDevice(t, device), false);
        return this;
    }

    /**
     * Converts floating parameters and buffers to {@code dtype} (integer buffers and those registered
     * with {@link #registerFixedDtypeBuffer} are left alone). Same rules as {@link #to(Device)}.
     */
    public final Module to(DType dtype) {
        if (!dtype.isFloating()) {
            throw new IllegalArgumentException(describeSelf() + ": modules convert only to floating dtypes, got "
                    + dtype);
        }
        convertTree(t -> !t.dtype().isFloating() || t.dtype() == dtype ? null : Layout.cast(t, dtype), true);
        return this;
    }

    /**
     * Replaces the parameter at dotted path {@code name} with {@code value} (same shape), releasing
     * the old tensor: for sharding and other engines that substitute storage. The new tensor is
     * adopted like {@link #registerParameter}.
     */
    public final void replaceParameter(String name, Tensor value) {
        int dot = name.lastIndexOf('.');
        Module owner = dot < 0 ? this : module(name.substring(0, dot));
        String local = dot < 0 ? name : name.substring(dot + 1);
        Tensor old = owner.param(local);
        if (!value.isLeaf()) {
            throw new IllegalArgumentException(describeSelf() + ": replacement for '" + name + "' must be a leaf");
        }
        Tensor p = owner.adopt(value);
        p.requiresGrad(true);
        p.setName(owner.path() + local);
        owner.parameters.put(local, p);
        if (p != old) {
            old.close();
        }
    }

    private interface Conversion {
        /** The converted tensor, or null to keep {@code t}. */
        Tensor apply(Tensor t);
    }

    private void convertTree(Conversion f, boolean dtypeChange) {
        Map<Tensor, Tensor> done = new IdentityHashMap<>();
        convert(f, done, dtypeChange);
        for (Tensor old : done.keySet()) {
            old.close();
        }
    }

    /** Converts this subtree; {@code done} maps old parameters to new ones so tied weights stay tied. */
    private void convert(Conversion f, Map<Tensor, Tensor> done, boolean dtypeChange) {
        try (Scope s = Scope.open("convert")) {
            GradMode.noGrad(() -> {
                for (Map.Entry<String, Tensor> e : parameters.entrySet()) {
                    Tensor old = e.getValue();
                    Tensor n = done.get(old);
                    if (n == null) {
                        Tensor c = f.apply(old);
                        if (c == null) {
                            continue;
                        }
                        n = Views.contiguous(c).moveTo(scope);
                        n.requiresGrad(true);
                        n.setName(old.name());
                        done.put(old, n);
                    }
                    e.setValue(n);
                }
                for (Map.Entry<String, Tensor> e : buffers.entrySet()) {
                    if (dtypeChange && fixedDtypeBuffers.contains(e.getKey())) {
                        continue;
                    }
                    Tensor old = e.getValue();
                    Tensor c = f.apply(old);
                    if (c != null) {
                        Tensor n = Views.contiguous(c).moveTo(scope);
                        n.setName(old.name());
                        e.setValue(n);
                        old.close();
                    }
                }
            });
        }
        for (Module m : children.values()) {
            m.convert(f, done, dtypeChange);
        }
    }

    // ---------------------------------------------------------------- lifetime

    /** Releases every parameter, gradient and buffer of this module and its descendants. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Module m : children.values()) {
            m.close();
        }
        scope.close();
    }

    public final boolean isClosed() {
        return closed;
    }

    private String describeSelf() {
        return getClass().getSimpleName();
    }

    /** One line per parameter: dotted name, shape, dtype, device. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(describeSelf()).append(" (").append(parameterCount())
                .append(" parameters)");
        namedParameters().forEach((k, v) -> sb.append("\n  ").append(k).append(' ').append(Shapes.str(v.shape()))
                .append(' ').append(v.dtype()).append(' ').append(v.device()));
        return sb.toString();
    }
}
