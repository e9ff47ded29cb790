package dev.panomni.modalities.io;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Layout;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Loads a checkpoint into a model's parameter layout: each model key is matched to a checkpoint
 * tensor (or, with {@link ExpertStacking}, to the per-expert tensors it stacks), shapes are checked,
 * and every missing key, unexpected key and shape mismatch is reported together in one
 * {@link StateDictMismatchException} before anything is allocated.
 *
 * <pre>{@code
 * Map<String, Tensor> params = new StateDictLoader(model.parameterShapes())
 *         .withExpertStacking(ExpertStacking.qwen3Moe())
 *         .toDevice(Device.cuda(0)).toDType(DType.BF16)
 *         .load(checkpoint);
 * }</pre>
 */
public final class StateDictLoader {
    /**
     * Where one model tensor comes from.
     *
     * @param name           the model key
     * @param checkpointKeys one key, or the per-expert keys in expert order for a stacked tensor
     * @param dtype          the checkpoint dtype
     * @param shape          the shape the checkpoint gives (stacked: [experts, ...])
     */
    public record Source(String name, List<String> checkpointKeys, DType dtype, long[] shape) {
        public Source {
            checkpointKeys = List.copyOf(checkpointKeys);
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }
    }

    private final Map<String, long[]> expected;
    private DType dtype;
    private Device device = Device.CPU;
    private ExpertStacking stacking;
    private Predicate<String> mayBeMissing = n -> false;
    private Predicate<String> mayBeUnexpected = n -> false;

    /** @param expectedShapes the model's keys and shapes, in the order tensors should be loaded */
    public StateDictLoader(Map<String, long[]> expectedShapes) {
        this.expected = new LinkedHashMap<>();
        expectedShapes.forEach((k, v) -> expected.put(k, v.clone()));
    }

    /** Converts every loaded floating tensor to {@code target} (null keeps the checkpoint dtype). */
    public StateDictLoader toDType(DType target) {
        this.dtype = target;
        return this;
    }

    /** Places loaded tensors on {@code target} (bytes go from the mapping straight to it). */
    public StateDictLoader toDevice(Device target) {
        this.device = Objects.requireNonNull(target);
        return this;
    }

    /** Stacks per-expert checkpoint tensors into the model's [experts, ...] tensors. */
    public StateDictLoader withExpertStacking(ExpertStacking s) {
        this.stacking = s;
        return this;
    }

    /** Model keys the checkpoint may lack (tied heads, buffers); they are left out of the result. */
    public StateDictLoader allowMissing(Predicate<String> p) {
        this.mayBeMissing = Objects.requireNonNull(p);
        return this;
    }

    /** Checkpoint keys that are not an error when the model lacks them (they are not loaded). */
    public StateDictLoader ignoreUnexpected(Predicate<String> p) {
        this.mayBeUnexpected = Objects.requireNonNull(p);
        return this;
    }

    /**
     * Matches the checkpoint to the model without loading anything.
     *
     * @return the source of every model key present, in model order
     * @throws StateDictMismatchException listing every problem
     */
    public Map<String, Source> plan(SafetensorsCheckpoint checkpoint) {
        Map<String, Source> available = new LinkedHashMap<>();
        List<String> mismatched = new ArrayList<>();
        Set<String> stackedKeys = new HashSet<>();
        if (stacking != null) {
            for (Map.Entry<String, List<String>> g : stacking.groups(checkpoint.names()).entrySet()) {
                List<String> keys = g.getValue();
                SafetensorsEntry first = checkpoint.entry(keys.get(0));
                String inconsistent = null;
                for (String k : keys) {
                    SafetensorsEntry e = checkpoint.entry(k);
                    if (e.dtype() != first.dtype() || !Arrays.equals(e.shape(), first.shape())) {
                        inconsistent = g.getKey() + ": experts disagree: " + keys.get(0) + " is " + Shapes.str(first.shape())
                                + " " + first.dtype() + " but " + k + " is " + Shapes.str(e.shape()) + " " + e.dtype();
                        break;
                    }
                }
                stackedKeys.addAll(keys);
                if (inconsistent != null) {
                    mismatched.add(inconsistent);
                    continue;
                }
                long[] shape = new long[first.shape().length + 1];
                shape[0] = keys.size();
                System.arraycopy(first.shape(), 0, shape, 1, first.shape().length);
                available.put(g.getKey(), new Source(g.getKey(), keys, first.dtype(), shape));
            }
        }
        for (String n : checkpoint.names()) {
            if (!stackedKeys.contains(n)) {
                SafetensorsEntry e = checkpoint.entry(n);
                available.put(n, new Source(n, List.of(n), e.dtype(), e.shape()));
            }
        }
        List<String> missing = new ArrayList<>();
        Map<String, Source> plan = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            Source s = available.get(e.getKey());
            if (s == null) {
                if (!mayBeMissing.test(e.getKey())) {
                    missing.add(e.getKey() + " " + Shapes.str(e.getValue()));
                }
            } else if (!Arrays.equals(s.shape(), e.getValue())) {
                mismatched.add(e.getKey() + ": checkpoint " + Shapes.str(s.shape()) + " " + s.dtype() + " vs model "
                        + Shapes.str(e.getValue()));
            } else {
                plan.put(e.getKey(), s);
            }
        }
        List<String> unexpected = new ArrayList<>();
        for (Source s : available.values()) {
            if (!expected.containsKey(s.name()) && !mayBeUnexpected.test(s.name())) {
                unexpected.add(s.name() + " " + Shapes.str(s.shape()) + " " + s.dtype()
                        + (s.checkpointKeys().size() > 1 ? " (stacked from " + s.checkpointKeys().size() + " experts)" : ""));
            }
        }
        if (!missing.isEmpty() || !unexpected.isEmpty() || !mismatched.isEmpty()) {
            throw new StateDictMismatchException(checkpoint.source().toString(), missing, unexpected, mismatched);
        }
        return plan;
    }

    /**
     * Loads every model key present in the checkpoint, in model order, as new tensors owned by the
     * current scope and named after their key.
     *
     * @throws StateDictMismatchException before loading anything, when keys or shapes disagree
     */
    public Map<String, Tensor> load(SafetensorsCheckpoint checkpoint) {
        Map<String, Source> plan = plan(checkpoint);
        Map<String, Tensor> out = new LinkedHashMap<>();
        try {
            for (Source s : plan.values()) {
                Tensor t = Tensor.empty(s.dtype(), device, s.shape());
                // A stacked tensor is its experts' bytes back to back; a plain one is its single key.
                long perKey = checkpoint.entry(s.checkpointKeys().get(0)).byteSize();
                for (int k = 0; k < s.checkpointKeys().size(); k++) {
                    checkpoint.copyInto(s.checkpointKeys().get(k), t, k * perKey);
                }
                if (dtype != null && s.dtype().isFloating() && dtype != s.dtype()) {
                    Tensor cast = GradMode.noGrad(() -> Layout.cast(t, dtype));
                    t.close();
                    out.put(s.name(), cast.setName(s.name()));
                } else {
                    out.put(s.name(), t.setName(s.name()));
                }
            }
        } catch (RuntimeException e) {
            out.values().forEach(Tensor::close);
            throw e;
        }
        return out;
    }
}
