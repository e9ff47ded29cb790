package dev.panomni.nn.optim;

import dev.panomni.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parameters that share a learning rate and weight decay. The optimizer's effective learning rate
 * for the group is {@code lr * lrMultiplier}, the multiplier coming from an {@link LrSchedule}.
 *
 * @param name        shown in errors and logs
 * @param params      parameters by dotted name, in order
 * @param lr          peak learning rate of this group
 * @param weightDecay weight decay of this group (decoupled for AdamW, L2 for SGD)
 */
public record ParamGroup(String name, Map<String, Tensor> params, double lr, double weightDecay) {
    public ParamGroup {
        if (!(lr >= 0) || !(weightDecay >= 0)) {
            throw new IllegalArgumentException("param group '" + name + "': lr and weight decay must be >= 0, got lr="
                    + lr + " weightDecay=" + weightDecay);
        }
        params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
    }

    /** One group named "default" holding every parameter. */
    public static ParamGroup of(Map<String, Tensor> params, double lr, double weightDecay) {
        return new ParamGroup("default", params, lr, weightDecay);
    }

    /**
     * The usual split for transformer training: matrices (rank >= 2: linear weights, embeddings)
     * in group "decay" with {@code weightDecay}; vectors (rank <= 1: biases, norm weights) in group
     * "no_decay" with none. Empty groups are left out.
     */
    public static List<ParamGroup> decayMatricesOnly(Map<String, Tensor> params, double lr, double weightDecay) {
        Map<String, Tensor> decay = new LinkedHashMap<>();
        Map<String, Tensor> noDecay = new LinkedHashMap<>();
        params.forEach((k, v) -> (v.rank() >= 2 ? decay : noDecay).put(k, v));
        List<ParamGroup> out = new ArrayList<>();
        if (!decay.isEmpty()) {
            out.add(new ParamGroup("decay", decay, lr, weightDecay));
        }
        if (!noDecay.isEmpty()) {
            out.add(new ParamGroup("no_decay", noDecay, lr, 0.0));
        }
        return out;
    }
}
