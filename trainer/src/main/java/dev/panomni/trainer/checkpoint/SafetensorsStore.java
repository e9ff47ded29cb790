package dev.panomni.trainer.checkpoint;

import dev.panomni.modalities.io.SafetensorsEntry;
import dev.panomni.modalities.io.SafetensorsFile;
import dev.panomni.modalities.io.SafetensorsWriter;
import dev.panomni.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Checkpoint tensors as safetensors files, through the shared reader and writer of the modalities
 * module (memory-mapped reads, header validation against the file size, atomic writes), so a
 * checkpoint's {@code model.safetensors} loads in Hugging Face's {@code safetensors} library too.
 */
public final class SafetensorsStore implements TensorStore {
    private static final Map<String, String> METADATA = Map.of("format", "pt");

    @Override
    public void write(Map<String, Tensor> tensors, Path file) throws IOException {
        SafetensorsWriter.write(file, tensors, METADATA);
    }

    @Override
    public Map<String, Tensor> read(Path file) throws IOException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String name : f.names()) {
                out.put(name, f.load(name));
            }
        }
        return out;
    }

    @Override
    public Map<String, TensorInfo> describe(Path file) throws IOException {
        Map<String, TensorInfo> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (SafetensorsEntry e : f.header().entries()) {
                out.put(e.name(), new TensorInfo(e.dtype(), e.shape()));
            }
        }
        return out;
    }
}
