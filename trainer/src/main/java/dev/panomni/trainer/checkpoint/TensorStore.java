package dev.panomni.trainer.checkpoint;

import dev.panomni.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Reads and writes a named set of tensors as one file. Checkpoints use it for model and optimizer
 * tensors; {@link SafetensorsStore} is the implementation (tests wrap it to simulate failures).
 */
public interface TensorStore {
    /** Writes {@code tensors} (any device, any layout) to {@code file}, replacing it. Does not fsync. */
    void write(Map<String, Tensor> tensors, Path file) throws IOException;

    /** Every tensor of {@code file}, as host tensors owned by the current scope, by name. */
    Map<String, Tensor> read(Path file) throws IOException;

    /**
     * The names, dtypes and shapes in {@code file}, from its header only.
     *
     * @throws IOException when the file is missing, truncated or its header is corrupt
     */
    Map<String, TensorInfo> describe(Path file) throws IOException;
}
