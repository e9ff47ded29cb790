package dev.panomni.trainer.recipe;

import dev.panomni.modalities.text.model.CausalLm;
import dev.panomni.modalities.text.model.CausalLmOutput;
import dev.panomni.modalities.text.model.DecoderBackbone;
import dev.panomni.modalities.text.model.PackedBatch;
import dev.panomni.modalities.text.model.RopeScaling;
import dev.panomni.modalities.text.model.TextModelConfig;
import dev.panomni.parallel.plan.ParallelPlan;
import dev.panomni.parallel.plan.Placement;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.ops.LinearCrossEntropy;
import dev.panomni.trainer.config.DataFormat;
import dev.panomni.trainer.config.ModelConfig;
import dev.panomni.trainer.config.ModelDims;
import dev.panomni.trainer.config.ModelFamily;
import dev.panomni.trainer.config.RunConfig;
import dev.panomni.trainer.data.Batch;
import dev.panomni.trainer.data.ByteTokenizer;
import dev.panomni.trainer.data.HfTokenizerAdapter;
import dev.panomni.trainer.data.TokenizerAdapter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;

/**
 * The recipe of the decoder-only language models in {@code dev.panomni.modalities.text.model}
 * (Llama, Qwen2, Qwen3, Qwen3-MoE): they differ only in a few architecture switches, which a
 * subclass passes to the constructor. Text and chat data, the packed varlen input, and next-token
 * cross-entropy (plus the MoE load-balancing loss) are shared.
 */
public abstract class DecoderRecipe implements Recipe {
    /** The byte tokenizer's name in {@code data.tokenizer}. */
    public static final String BYTE_TOKENIZER = "byte";

    private final ModelFamily family;
    private final String modelType;
    private final boolean qkNorm;
    private final boolean attentionBias;
    private final boolean normTopkProb;

    /**
     * @param family        the config family
     * @param modelType     the Hugging Face model_type
     * @param qkNorm        RMSNorm on each head's queries and keys (Qwen3)
     * @param attentionBias biases on the q/k/v projections (Qwen2)
     * @param normTopkProb  renormalize the top-k router weights (Qwen3-MoE)
     */
    protected DecoderRecipe(ModelFamily family, String modelType, boolean qkNorm, boolean attentionBias,
                            boolean normTopkProb) {
        this.family = family;
        this.modelType = modelType;
        this.qkNorm = qkNorm;
        this.attentionBias = attentionBias;
        this.normTopkProb = normTopkProb;
    }

    @Override
    public final ModelFamily family() {
        return family;
    }

    @Override
    public final String modelType() {
        return modelType;
    }

    /** RoPE scaling of a model built from dimensions (Llama 3.1+ presets use it); none by default. */
    protected RopeScaling ropeScaling(ModelConfig model) {
        return null;
    }

    @Override
    public TextModelConfig architecture(ModelConfig model, Path baseDir) {
        if (model.hfPath() != null) {
            Path dir = resolve(baseDir, model.hfPath());
            TextModelConfig cfg;
            try {
                cfg = TextModelConfig.read(dir);
            } catch (IOException | IllegalArgumentException e) {
                throw new RecipeException("model.hf_path = '" + model.hfPath() + "': " + e.getMessage(), e);
            }
            if (!cfg.family().equals(modelType)) {
                throw new RecipeException("model.hf_path = '" + model.hfPath() + "' holds a " + cfg.family()
                        + " model (config.json model_type), but model.family is " + familyName()
                        + "; set model.family to match");
            }
            return cfg;
        }
        ModelDims d = model.dims();
        boolean[] moeLayers = new boolean[d.numLayers()];
        Arrays.fill(moeLayers, d.numExperts() > 0);
        try {
            return new TextModelConfig(modelType, d.vocabSize(), d.hiddenSize(), d.numLayers(), d.numHeads(),
                    d.numKvHeads(), d.headDim(), d.intermediateSize(), d.ropeTheta(), ropeScaling(model), d.normEps(),
                    qkNorm, attentionBias, d.tieEmbeddings(), d.numExperts(), d.expertsPerToken(),
                    d.moeIntermediateSize(), normTopkProb, 0.001, moeLayers);
        } catch (IllegalArgumentException e) {
            throw new RecipeException("model: " + e.getMessage(), e);
        }
    }

    @Override
    public CausalLm build(TextModelConfig architecture, long seed) {
        return new CausalLm(architecture, seed);
    }

    /**
     * One FSDP unit per decoder layer, routed experts sharded by expert, attention sequence-parallel;
     * everything else (embeddings, final norm, head) FSDP-sharded in the root unit.
     */
    @Override
    public ParallelPlan parallelPlan(TextModelConfig architecture) {
        ParallelPlan.Builder b = ParallelPlan.builder()
                .fsdpUnit("model.layers.*")
                .sequenceParallel("model.layers.*.self_attn");
        if (architecture.experts() > 0) {
            b.place("model.layers.*.mlp.experts.*", new Placement.ExpertSharded());
        }
        return b.build();
    }

    @Override
    public TokenizerAdapter tokenizer(RunConfig config, Path baseDir) {
        String t = config.data().tokenizer();
        if (BYTE_TOKENIZER.equals(t)) {
            return new ByteTokenizer();
        }
        if (t != null) {
            return HfTokenizerAdapter.load(resolve(baseDir, t));
        }
        String hf = config.model().hfPath();
        if (hf != null && Files.isRegularFile(resolve(baseDir, hf).resolve(HfTokenizerAdapter.TOKENIZER_FILE))) {
            return HfTokenizerAdapter.load(resolve(baseDir, hf));
        }
        return new ByteTokenizer();
    }

    @Override
    public Set<DataFormat> dataFormats() {
        return EnumSet.of(DataFormat.TEXT, DataFormat.CHAT);
    }

    @Override
    public PackedBatch modelInput(Batch batch, Device device) {
        Batch.Tensors t = batch.toTensors();
        PackedBatch host = new PackedBatch(t.inputIds(), t.positionIds(), t.cuSeqlens(), t.labels());
        return device.equals(Device.CPU) ? host : host.to(device);
    }

    @Override
    public CausalLmOutput loss(CausalLm model, PackedBatch input, DecoderBackbone.LayerRunner runner) {
        return model.loss(input, runner, LinearCrossEntropy.DEFAULT_CHUNK);
    }

    private String familyName() {
        return family.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** {@code path} against {@code baseDir} when relative (and a base is known). */
    static Path resolve(Path baseDir, String path) {
        Path p = Path.of(path);
        return baseDir == null || p.isAbsolute() ? p : baseDir.resolve(p);
    }
}
