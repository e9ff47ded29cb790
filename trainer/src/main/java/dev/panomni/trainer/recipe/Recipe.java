package dev.panomni.trainer.recipe;

import dev.panomni.modalities.text.model.CausalLm;
import dev.panomni.modalities.text.model.CausalLmOutput;
import dev.panomni.modalities.text.model.DecoderBackbone;
import dev.panomni.modalities.text.model.PackedBatch;
import dev.panomni.modalities.text.model.TextModelConfig;
import dev.panomni.parallel.plan.ParallelPlan;
import dev.panomni.tensor.Device;
import dev.panomni.trainer.config.DataFormat;
import dev.panomni.trainer.config.ModelConfig;
import dev.panomni.trainer.config.ModelFamily;
import dev.panomni.trainer.config.RunConfig;
import dev.panomni.trainer.data.Batch;
import dev.panomni.trainer.data.TokenizerAdapter;

import java.nio.file.Path;
import java.util.Set;

/**
 * Everything the trainer needs to know about one model family, so that the training loop has no
 * per-model code: how the architecture is built (from config dimensions or a Hugging Face folder),
 * how it is parallelized (a {@link ParallelPlan} by parameter names), which tokenizer and data
 * formats it takes, how a packed batch becomes its input, and its loss. A new family is one
 * implementation (usually a small subclass of {@link DecoderRecipe}) registered in {@link Recipes}.
 */
public interface Recipe {
    /** The family this recipe builds. */
    ModelFamily family();

    /** The Hugging Face {@code model_type} of exported checkpoints ({@code qwen3}, {@code llama}, ...). */
    String modelType();

    /**
     * The architecture of {@code model}: from its resolved dimensions, or from the config.json of
     * {@code model.hf_path} (a relative path is resolved against {@code baseDir}).
     *
     * @throws RecipeException when the folder is unreadable or holds another family
     */
    TextModelConfig architecture(ModelConfig model, Path baseDir);

    /** A model with fresh weights drawn from {@code seed} (host, F32). */
    CausalLm build(TextModelConfig architecture, long seed);

    /** How the parallel engine lays the model out: FSDP units, expert sharding, sequence parallelism. */
    ParallelPlan parallelPlan(TextModelConfig architecture);

    /**
     * The tokenizer of a run: {@code data.tokenizer} when set ({@code byte} or a tokenizer.json path),
     * else the tokenizer of {@code model.hf_path} when it has one, else byte-level.
     */
    TokenizerAdapter tokenizer(RunConfig config, Path baseDir);

    /** The JSONL formats this model trains on. */
    Set<DataFormat> dataFormats();

    /** A packed micro-batch as the model's input, on {@code device}, in the current scope. */
    PackedBatch modelInput(Batch batch, Device device);

    /**
     * The training loss of {@code input} (mean over its target tokens, plus any auxiliary loss),
     * each decoder layer run through {@code runner} (directly, or under activation checkpointing).
     */
    CausalLmOutput loss(CausalLm model, PackedBatch input, DecoderBackbone.LayerRunner runner);
}
