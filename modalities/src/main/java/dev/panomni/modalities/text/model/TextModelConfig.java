package dev.panomni.modalities.text.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The architecture of a decoder-only language model, read from a Hugging Face {@code config.json}
 * of the Llama, Qwen2, Qwen3 or Qwen3-MoE families.
 *
 * @param family             llama, qwen2, qwen3 or qwen3_moe
 * @param vocabSize          vocabulary size
 * @param hidden             model width
 * @param layers             decoder layers
 * @param heads              query heads
 * @param kvHeads            key/value heads (grouped-query attention when fewer than heads)
 * @param headDim            per-head width
 * @param intermediate       dense MLP width
 * @param ropeTheta          RoPE base
 * @param ropeScaling        Llama 3 scaling, or null
 * @param rmsNormEps         RMSNorm epsilon
 * @param qkNorm             Qwen3's RMSNorm on queries and keys per head
 * @param attentionBias      q/k/v projection biases (Qwen2)
 * @param tieEmbeddings      LM head shares the embedding matrix
 * @param experts            routed experts (0 for dense)
 * @param expertsPerToken    top-k
 * @param moeIntermediate    expert MLP width
 * @param normTopkProb       renormalize the top-k router weights to sum to 1
 * @param routerAuxLossCoef  load-balancing loss coefficient
 * @param moeLayers          which layers are MoE (true) or dense (false)
 */
public record TextModelConfig(String family, int vocabSize, int hidden, int layers, int heads, int kvHeads, int headDim,
                              int intermediate, double ropeTheta, RopeScaling ropeScaling, double rmsNormEps,
                              boolean qkNorm, boolean attentionBias, boolean tieEmbeddings, int experts,
                              int expertsPerToken, int moeIntermediate, boolean normTopkProb, double routerAuxLossCoef,
                              boolean[] moeLayers) {
    private static final List<String> FAMILIES = List.of("llama", "qwen2", "qwen3", "qwen3_moe");

    public TextModelConfig {
        require(FAMILIES.contains(family), "model_type '" + family + "' is not supported; supported: " + FAMILIES);
        require(vocabSize > 0 && hidden > 0 && layers > 0 && heads > 0 && kvHeads > 0 && headDim > 0,
                "vocab_size, hidden_size, num_hidden_layers, num_attention_heads, num_key_value_heads and head_dim "
                        + "must be positive");
        require(heads % kvHeads == 0, "num_attention_heads (" + heads + ") must be a multiple of num_key_value_heads ("
                + kvHeads + ")");
        require(headDim % 2 == 0, "head_dim (" + headDim + ") must be even for rotary embeddings");
        require(moeLayers.length == layers, "one MoE flag per layer");
        if (experts > 0) {
            require(expertsPerToken > 0 && expertsPerToken <= experts, "num_experts_per_tok (" + expertsPerToken
                    + ") must be in 1.." + experts);
            require(moeIntermediate > 0, "moe_intermediate_size must be positive");
        }
    }

    /** Whether layer {@code i} uses a mixture of experts. */
    public boolean isMoeLayer(int i) {
        return moeLayers[i];
    }

    /** RoPE inverse frequencies [headDim / 2] including any scaling. */
    public float[] ropeInvFreq() {
        return ropeScaling != null ? ropeScaling.invFreq(headDim, ropeTheta) : RopeScaling.baseInvFreq(headDim, ropeTheta);
    }

    /** Reads {@code config.json} (a file, or a model folder holding one). */
    public static TextModelConfig read(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve("config.json") : path;
        if (!Files.exists(file)) {
            throw new IOException("no config.json at " + file + ": point at a Hugging Face model folder");
        }
        return parse(new ObjectMapper().readTree(file.toFile()), file.toString());
    }

    /** Parses a config.json tree; {@code source} names it in errors. */
    public static TextModelConfig parse(JsonNode c, String source) {
        String type = text(c, "model_type", "").toLowerCase(Locale.ROOT);
        if (type.isEmpty()) {
            throw new IllegalArgumentException(source + ": config.json has no model_type");
        }
        int hidden = integer(c, "hidden_size", source);
        int heads = integer(c, "num_attention_heads", source);
        int layers = integer(c, "num_hidden_layers", source);
        int kv = c.has("num_key_value_heads") && !c.get("num_key_value_heads").isNull()
                ? c.get("num_key_value_heads").asInt() : heads;
        int headDim = c.has("head_dim") && !c.get("head_dim").isNull() ? c.get("head_dim").asInt() : hidden / heads;
        RopeScaling scaling = null;
        JsonNode rs = c.get("rope_scaling");
        if ((rs == null || rs.isNull()) && c.has("rope_parameters")) {
            rs = c.get("rope_parameters");   // transformers 5 keeps theta and scaling together here
        }
        if (rs != null && !rs.isNull()) {
            String rt = text(rs, "rope_type", text(rs, "type", "default"));
            if (rt.equals("llama3")) {
                scaling = new RopeScaling(rs.path("factor").asDouble(8.0), rs.path("low_freq_factor").asDouble(1.0),
                        rs.path("high_freq_factor").asDouble(4.0),
                        rs.path("original_max_position_embeddings").asInt(8192));
            } else if (!rt.equals("default")) {
                throw new IllegalArgumentException(source + ": rope_scaling type '" + rt + "' is not supported "
                        + "(supported: llama3, default)");
            }
        }
        double theta = c.has("rope_theta") ? c.get("rope_theta").asDouble()
                : c.path("rope_parameters").path("rope_theta").asDouble(10000.0);
        boolean moe = type.equals("qwen3_moe");
        // transformers 5 calls it num_local_experts; earlier configs num_experts.
        int experts = moe ? integer(c, c.has("num_local_experts") ? "num_local_experts" : "num_experts", source) : 0;
        boolean[] moeLayers = new boolean[layers];
        if (moe) {
            int step = c.path("decoder_sparse_step").asInt(1);
            List<Integer> mlpOnly = new ArrayList<>();
            c.path("mlp_only_layers").forEach(n -> mlpOnly.add(n.asInt()));
            for (int i = 0; i < layers; i++) {
                moeLayers[i] = !mlpOnly.contains(i) && step > 0 && (i + 1) % step == 0;
            }
        }
        return new TextModelConfig(type, integer(c, "vocab_size", source), hidden, layers, heads, kv, headDim,
                c.path("intermediate_size").asInt(0), theta, scaling, c.path("rms_norm_eps").asDouble(1e-6),
                type.startsWith("qwen3"), c.path("attention_bias").asBoolean(type.equals("qwen2")),
                c.path("tie_word_embeddings").asBoolean(false), experts,
                moe ? integer(c, "num_experts_per_tok", source) : 0,
                moe ? integer(c, "moe_intermediate_size", source) : 0,
                c.path("norm_topk_prob").asBoolean(false), c.path("router_aux_loss_coef").asDouble(0.001), moeLayers);
    }

    private static String text(JsonNode n, String key, String dflt) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? dflt : v.asText();
    }

    private static int integer(JsonNode n, String key, String source) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull() || !v.canConvertToInt()) {
            throw new IllegalArgumentException(source + ": config.json needs an integer '" + key + "'");
        }
        return v.asInt();
    }

    private static void require(boolean ok, String msg) {
        if (!ok) {
            throw new IllegalArgumentException("model config: " + msg);
        }
    }

    /** Parameters of the model (embedding, layers, final norm, untied head). */
    public long parameterCount() {
        long attn = (long) hidden * heads * headDim + 2L * hidden * kvHeads * headDim + (long) heads * headDim * hidden;
        if (attentionBias) {
            attn += (long) heads * headDim + 2L * kvHeads * headDim;
        }
        if (qkNorm) {
            attn += 2L * headDim;
        }
        long total = (long) vocabSize * hidden + hidden;
        for (int i = 0; i < layers; i++) {
            long mlp = moeLayers[i] ? (long) experts * 3L * hidden * moeIntermediate + (long) hidden * experts
                    : 3L * hidden * intermediate;
            total += attn + mlp + 2L * hidden;
        }
        if (!tieEmbeddings) {
            total += (long) vocabSize * hidden;
        }
        return total;
    }
}
