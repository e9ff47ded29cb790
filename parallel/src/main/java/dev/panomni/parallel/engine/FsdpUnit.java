package dev.panomni.parallel.engine;

import dev.panomni.nn.Module;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parameters gathered and freed together (one decoder layer, or the root: everything outside
 * the units). Between uses the model's parameter slots hold empty placeholders; {@link #install}
 * puts the gathered tensors in, {@link #uninstall} frees them.
 */
final class FsdpUnit {
    private final String name;
    private final Module model;
    private final List<ShardBucket> buckets = new ArrayList<>();
    private final DType computeDtype;
    private boolean gathering;
    private Map<ShardedParameter, Tensor> installed;

    FsdpUnit(String name, Module model, DType computeDtype) {
        this.name = name;
        this.model = model;
        this.computeDtype = computeDtype;
    }

    String name() {
        return name;
    }

    List<ShardBucket> buckets() {
        return buckets;
    }

    boolean isInstalled() {
        return installed != null;
    }

    /** Starts the all-gathers unless they are running or done (the prefetch). */
    void prefetch() {
        if (gathering || installed != null) {
            return;
        }
        for (ShardBucket b : buckets) {
            b.startGather(computeDtype);
        }
        gathering = true;
    }

    /**
     * Waits for the gathers (starting them if nobody prefetched) and installs the full tensors as the
     * model's parameters; with {@code recordGrads} their gradients accumulate during a backward.
     */
    void install() {
        if (installed != null) {
            return;
        }
        prefetch();
        gathering = false;
        Map<ShardedParameter, Tensor> full = new LinkedHashMap<>();
        for (ShardBucket b : buckets) {
            full.putAll(b.finishGather());
        }
        for (Map.Entry<ShardedParameter, Tensor> e : full.entrySet()) {
            model.replaceParameter(e.getKey().name(), e.getValue());
        }
        installed = full;
    }

    /** The gradients the installed parameters accumulated (absent where none flowed). */
    Map<ShardedParameter, Tensor> installedGrads() {
        Map<ShardedParameter, Tensor> grads = new LinkedHashMap<>();
        if (installed != null) {
            installed.forEach((p, t) -> {
                if (t.grad() != null) {
                    grads.put(p, t.grad());
                }
            });
        }
        return grads;
    }

    /** Starts the reduce-scatter of the installed parameters' gradients (returns at once). */
    void startReduce() {
        Map<ShardedParameter, Tensor> grads = installedGrads();
        for (ShardBucket b : buckets) {
            if (b.reducing()) {
                // The unit ran twice in one step: finish the first reduction before starting the second.
                b.awaitReduceScatter();
                b.finishReduce();
            }
            b.startReduce(grads);
        }
    }

    /** Frees the gathered tensors (and their gradients): the slots get empty placeholders. */
    void uninstall() {
        if (installed == null) {
            return;
        }
        try (Scope s = Scope.open("fsdp.uninstall")) {
            for (Map.Entry<ShardedParameter, Tensor> e : installed.entrySet()) {
                Tensor placeholder = Tensor.empty(computeDtype, e.getValue().device(), 0);
                model.replaceParameter(e.getKey().name(), placeholder);
            }
        }
        installed = null;
    }

    /**
     * Completes and discards a prefetch that nobody used (its values would be stale after the
     * optimizer step). Every rank calls it at the same point, so the collective still pairs up.
     */
    void discardPrefetch() {
        if (!gathering) {
            return;
        }
        gathering = false;
        for (ShardBucket b : buckets) {
            b.finishGather().values().forEach(Tensor::close);
        }
    }

    /** Drops everything in flight after a failure, so buffers are not leaked. */
    void abandon() {
        gathering = false;
        for (ShardBucket b : buckets) {
            b.abandon();
        }
        uninstall();
    }

    @Override
    public String toString() {
        return "FsdpUnit[" + name + "]";
    }
}
