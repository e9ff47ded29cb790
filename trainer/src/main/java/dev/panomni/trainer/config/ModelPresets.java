package dev.panomni.trainer.config;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Named sizes of each family, with the dimensions of the published checkpoints (Qwen3, Qwen3-MoE,
 * Qwen2.5, Llama 3.x), so {@code model: {family: qwen3, size: 0.6b}} is a complete model description.
 */
public final class ModelPresets {
    private static final Map<ModelFamily, Map<String, ModelDims>> PRESETS = new LinkedHashMap<>();

    static {
        // The demonstration models: the byte-level vocabulary (256 bytes + 4 special tokens, ByteTokenizer).
        put(ModelFamily.TINY, "demo", ModelDims.dense(260, 128, 4, 4, 2, 32, 384, 512, 10_000, 1e-6, true));
        put(ModelFamily.TINY, "micro", ModelDims.dense(260, 64, 2, 2, 1, 32, 192, 256, 10_000, 1e-6, true));
        put(ModelFamily.TINY, "small", ModelDims.dense(260, 256, 6, 8, 4, 32, 768, 1024, 10_000, 1e-6, true));

        // A tiny model of each family over the byte vocabulary: runs on a laptop CPU in seconds per step.
        put(ModelFamily.QWEN3, "tiny", ModelDims.dense(260, 128, 4, 4, 2, 32, 384, 512, 10_000, 1e-6, true));
        put(ModelFamily.QWEN2, "tiny", ModelDims.dense(260, 128, 4, 4, 2, 32, 384, 512, 10_000, 1e-6, true));
        put(ModelFamily.LLAMA, "tiny", ModelDims.dense(260, 128, 4, 4, 2, 32, 384, 512, 10_000, 1e-5, true));
        put(ModelFamily.QWEN3_MOE, "tiny", ModelDims.moe(260, 128, 2, 4, 2, 32, 384, 512, 10_000, 1e-6, true,
                8, 2, 96));

        put(ModelFamily.QWEN3, "0.6b", ModelDims.dense(151_936, 1024, 28, 16, 8, 128, 3072, 40_960, 1e6, 1e-6, true));
        put(ModelFamily.QWEN3, "1.7b", ModelDims.dense(151_936, 2048, 28, 16, 8, 128, 6144, 40_960, 1e6, 1e-6, true));
        put(ModelFamily.QWEN3, "4b", ModelDims.dense(151_936, 2560, 36, 32, 8, 128, 9728, 40_960, 1e6, 1e-6, true));
        put(ModelFamily.QWEN3, "8b", ModelDims.dense(151_936, 4096, 36, 32, 8, 128, 12_288, 40_960, 1e6, 1e-6, false));
        put(ModelFamily.QWEN3, "14b", ModelDims.dense(151_936, 5120, 40, 40, 8, 128, 17_408, 40_960, 1e6, 1e-6, false));
        put(ModelFamily.QWEN3, "32b", ModelDims.dense(151_936, 5120, 64, 64, 8, 128, 25_600, 40_960, 1e6, 1e-6, false));

        // The design brief's benchmark shape: 1.6B parameters, 0.54B active, 64 experts top-8.
        put(ModelFamily.QWEN3_MOE, "1.6b-a0.5b", ModelDims.moe(151_936, 1024, 12, 16, 8, 128, 3072, 40_960, 1e6, 1e-6,
                false, 64, 8, 512));
        put(ModelFamily.QWEN3_MOE, "30b-a3b", ModelDims.moe(151_936, 2048, 48, 32, 4, 128, 6144, 40_960, 1e6, 1e-6,
                false, 128, 8, 768));
        put(ModelFamily.QWEN3_MOE, "235b-a22b", ModelDims.moe(151_936, 4096, 94, 64, 4, 128, 12_288, 40_960, 1e6, 1e-6,
                false, 128, 8, 1536));

        put(ModelFamily.QWEN2, "0.5b", ModelDims.dense(151_936, 896, 24, 14, 2, 64, 4864, 32_768, 1e6, 1e-6, true));
        put(ModelFamily.QWEN2, "1.5b", ModelDims.dense(151_936, 1536, 28, 12, 2, 128, 8960, 32_768, 1e6, 1e-6, true));
        put(ModelFamily.QWEN2, "7b", ModelDims.dense(152_064, 3584, 28, 28, 4, 128, 18_944, 32_768, 1e6, 1e-6, false));

        put(ModelFamily.LLAMA, "3.2-1b", ModelDims.dense(128_256, 2048, 16, 32, 8, 64, 8192, 131_072, 500_000, 1e-5, true));
        put(ModelFamily.LLAMA, "3.2-3b", ModelDims.dense(128_256, 3072, 28, 24, 8, 128, 8192, 131_072, 500_000, 1e-5, true));
        put(ModelFamily.LLAMA, "3.1-8b", ModelDims.dense(128_256, 4096, 32, 32, 8, 128, 14_336, 131_072, 500_000, 1e-5,
                false));
    }

    private ModelPresets() {
    }

    private static void put(ModelFamily family, String name, ModelDims dims) {
        PRESETS.computeIfAbsent(family, f -> new LinkedHashMap<>()).put(name, dims);
    }

    /** The preset names of {@code family}, in declaration order. */
    public static java.util.List<String> names(ModelFamily family) {
        return java.util.List.copyOf(PRESETS.getOrDefault(family, Map.of()).keySet());
    }

    /** The preset's dimensions, or null when {@code family} has no preset of that name. */
    public static ModelDims find(ModelFamily family, String name) {
        return PRESETS.getOrDefault(family, Map.of()).get(name.toLowerCase(java.util.Locale.ROOT));
    }
}
