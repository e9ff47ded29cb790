package dev.panomni.trainer.checkpoint;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Layout;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/** A complete checkpoint opened for reading: its state, and its tensors restored into live ones. */
public final class LoadedCheckpoint {
    private final Path dir;
    private final TrainingState state;
    private final String configYaml;
    private final TensorStore store;

    LoadedCheckpoint(Path dir, TrainingState state, String configYaml, TensorStore store) {
        this.dir = dir;
        this.state = state;
        this.configYaml = configYaml;
        this.store = store;
    }

    public Path dir() {
        return dir;
    }

    public TrainingState state() {
        return state;
    }

    /** The run's config when the checkpoint was written, or null. */
    public String configYaml() {
        return configYaml;
    }

    /**
     * Copies the checkpoint's model tensors into {@code parameters} (same names and shapes; dtypes
     * are converted), after checking all of them.
     *
     * @throws CheckpointMismatchException listing every missing, unexpected or reshaped tensor
     */
    public void restoreModel(Map<String, Tensor> parameters) {
        restore("model", CheckpointManager.MODEL_FILE, parameters);
    }

    /** Like {@link #restoreModel} for the optimizer's tensors. */
    public void restoreOptimizer(Map<String, Tensor> optimizerTensors) {
        restore("optimizer", CheckpointManager.OPTIMIZER_FILE, optimizerTensors);
    }

    /** The model tensors as stored (host tensors owned by the current scope), e.g. for export. */
    public Map<String, Tensor> readModel() {
        return read(CheckpointManager.MODEL_FILE);
    }

    /** The optimizer tensors as stored (host tensors owned by the current scope), for {@code Optimizer.loadStateDict}. */
    public Map<String, Tensor> readOptimizer() {
        return read(CheckpointManager.OPTIMIZER_FILE);
    }

    /** Names, dtypes and shapes of the model tensors. */
    public Map<String, TensorInfo> describeModel() {
        try {
            return store.describe(dir.resolve(CheckpointManager.MODEL_FILE));
        } catch (IOException e) {
            throw new CheckpointException("reading " + dir.resolve(CheckpointManager.MODEL_FILE) + " failed: "
                    + e.getMessage(), e);
        }
    }

    private Map<String, Tensor> read(String file) {
        try {
            return store.read(dir.resolve(file));
        } catch (IOException e) {
            throw new CheckpointException("reading " + dir.resolve(file) + " failed: " + e.getMessage(), e);
        }
    }

    private void restore(String what, String file, Map<String, Tensor> targets) {
        Map<String, TensorInfo> stored;
        try {
            stored = store.describe(dir.resolve(file));
        } catch (IOException e) {
            throw new CheckpointException("reading " + dir.resolve(file) + " failed: " + e.getMessage(), e);
        }
        List<String> problems = mismatches(stored, targets);
        if (!problems.isEmpty()) {
            throw new CheckpointMismatchException(what, dir, problems);
        }
        try (Scope s = Scope.open("checkpoint.restore")) {
            Map<String, Tensor> loaded = read(file);
            GradMode.noGrad(() -> {
                for (Map.Entry<String, Tensor> e : targets.entrySet()) {
                    Tensor target = e.getValue();
                    Tensor src = Layout.toDevice(Layout.cast(loaded.get(e.getKey()), target.dtype()), target.device());
                    Layout.copyInto(src, target);
                }
            });
        }
    }

    /** Every difference between stored tensors and targets, one line each, sorted by name. */
    static List<String> mismatches(Map<String, TensorInfo> stored, Map<String, Tensor> targets) {
        List<String> problems = new ArrayList<>();
        TreeSet<String> names = new TreeSet<>(stored.keySet());
        names.addAll(targets.keySet());
        for (String name : names) {
            TensorInfo s = stored.get(name);
            Tensor t = targets.get(name);
            if (s == null) {
                problems.add(name + ": missing from the checkpoint (the model has " + shape(t.shape()) + ")");
            } else if (t == null) {
                problems.add(name + ": in the checkpoint " + shape(s.shape()) + " but not in the model");
            } else if (!Arrays.equals(s.shape(), t.shape())) {
                problems.add(name + ": checkpoint has " + shape(s.shape()) + ", the model has " + shape(t.shape()));
            }
        }
        return problems;
    }

    private static String shape(long[] shape) {
        return dev.panomni.tensor.Shapes.str(shape);
    }
}
