package dev.panomni.bench.train;

import dev.panomni.modalities.text.model.TextModelConfig;

import java.util.Arrays;

/**
 * The design brief's benchmark model shapes, shared by the one-GPU step ({@link TrainStepRunner})
 * and the multi-GPU runs ({@code dev.panomni.bench.parallel.ScalingRunner}), and matching
 * bench/scripts/torch_train_step.py's {@code build_model}.
 */
public final class BenchmarkModels {
    private BenchmarkModels() {
    }

    /** Whether {@code family} names one of the benchmark shapes. */
    public static boolean isBenchmarkShape(String family) {
        return family.equals("qwen3") || family.equals("qwen3_moe");
    }

    /**
     * {@code qwen3}: the Qwen3-0.6B shape (vocab 151,936, hidden 1024, 28 layers, 16 query and 8
     * key/value heads of 128, MLP 3072, tied embeddings). {@code qwen3_moe}: the Qwen3-MoE shape (12
     * layers, 64 experts of 512, top-8 renormalized, load-balancing loss 0.001, untied head).
     *
     * @param layers decoder layers, or a negative number for the shape's own count
     */
    public static TextModelConfig config(String family, int layers) {
        return switch (family) {
            case "qwen3" -> {
                int n = layers < 0 ? 28 : layers;
                yield new TextModelConfig("qwen3", 151_936, 1024, n, 16, 8, 128, 3072, 1_000_000.0, null,
                        1e-6, true, false, true, 0, 0, 0, false, 0.0, new boolean[n]);
            }
            case "qwen3_moe" -> {
                int n = layers < 0 ? 12 : layers;
                boolean[] moe = new boolean[n];
                Arrays.fill(moe, true);
                yield new TextModelConfig("qwen3_moe", 151_936, 1024, n, 16, 8, 128, 3072, 1_000_000.0, null,
                        1e-6, true, false, false, 64, 8, 512, true, 0.001, moe);
            }
            default -> throw new IllegalArgumentException("--model must be qwen3 or qwen3_moe, got " + family);
        };
    }
}
