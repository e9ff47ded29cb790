package dev.panomni.modalities.text.model;

import dev.panomni.modalities.io.ExpertStacking;
import dev.panomni.modalities.io.SafetensorsCheckpoint;
import dev.panomni.modalities.io.SafetensorsWriter;
import dev.panomni.modalities.io.StateDictLoader;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Loads and saves {@link CausalLm} weights in the Hugging Face layout (config.json plus
 * model.safetensors or a sharded index). Qwen3-MoE's per-expert tensors are stacked into
 * [experts, ...] on load and split again on save, so a loaded model saves back to the same keys.
 */
public final class HuggingFaceWeights {
    private HuggingFaceWeights() {
    }

    /** A model built from {@code dir}/config.json with the weights of {@code dir}, on the host, in F32. */
    public static CausalLm load(Path dir) throws IOException {
        TextModelConfig cfg = TextModelConfig.read(dir);
        CausalLm model = new CausalLm(cfg, 0);
        loadInto(model, dir);
        return model;
    }

    /**
     * Copies the weights in {@code dir} into {@code model}; every missing, unexpected or misshaped
     * tensor is reported together, and nothing is changed when any is.
     */
    public static void loadInto(CausalLm model, Path dir) throws IOException {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        model.namedParameters().forEach((k, v) -> shapes.put(k, v.shape()));
        StateDictLoader loader = new StateDictLoader(shapes);
        if (model.config().experts() > 0) {
            loader = loader.withExpertStacking(ExpertStacking.qwen3Moe());
        }
        if (model.config().tieEmbeddings()) {
            loader = loader.ignoreUnexpected(n -> n.equals("lm_head.weight"));
        }
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir); Scope s = Scope.open("loadWeights")) {
            Map<String, Tensor> state = loader.load(ckpt);
            model.loadStateDict(state, true);
        }
    }

    /** Writes config-compatible safetensors of {@code model} into {@code dir} (experts split per expert). */
    public static void save(CausalLm model, Path dir, DType dtype) throws IOException {
        Files.createDirectories(dir);
        try (Scope s = Scope.open("saveWeights")) {
            Map<String, Tensor> converted = new LinkedHashMap<>();
            model.stateDict().forEach((k, v) -> converted.put(k, dtype == null ? v : v.to(dtype)));
            Map<String, Tensor> state = model.config().experts() > 0 ? ExpertStacking.qwen3Moe().split(converted) : converted;
            SafetensorsWriter.write(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE), state, Map.of("format", "pt"));
        }
    }
}
