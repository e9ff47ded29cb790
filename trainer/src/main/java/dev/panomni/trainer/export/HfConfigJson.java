package dev.panomni.trainer.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panomni.modalities.text.model.RopeScaling;
import dev.panomni.modalities.text.model.TextModelConfig;

import java.util.Map;

/**
 * Writes a {@link TextModelConfig} as the {@code config.json} Hugging Face transformers reads for
 * its model type (the inverse of {@link TextModelConfig#parse}).
 */
public final class HfConfigJson {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> ARCHITECTURES = Map.of(
            "qwen3", "Qwen3ForCausalLM",
            "qwen3_moe", "Qwen3MoeForCausalLM",
            "qwen2", "Qwen2ForCausalLM",
            "llama", "LlamaForCausalLM");

    private HfConfigJson() {
    }

    /**
     * The config.json tree.
     *
     * @param arch         the architecture
     * @param maxPositions {@code max_position_embeddings} (the longest sequence it is meant for)
     * @param torchDtype   {@code torch_dtype} of the weights ({@code float32} or {@code bfloat16})
     * @param bosId        beginning-of-sequence id, or null
     * @param eosId        end-of-sequence id, or null
     */
    public static ObjectNode of(TextModelConfig arch, int maxPositions, String torchDtype, Integer bosId, Integer eosId) {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add(ARCHITECTURES.getOrDefault(arch.family(), arch.family()));
        c.put("model_type", arch.family());
        c.put("vocab_size", arch.vocabSize());
        c.put("hidden_size", arch.hidden());
        c.put("intermediate_size", arch.intermediate());
        c.put("num_hidden_layers", arch.layers());
        c.put("num_attention_heads", arch.heads());
        c.put("num_key_value_heads", arch.kvHeads());
        c.put("head_dim", arch.headDim());
        c.put("hidden_act", "silu");
        c.put("max_position_embeddings", maxPositions);
        c.put("rms_norm_eps", arch.rmsNormEps());
        c.put("rope_theta", arch.ropeTheta());
        RopeScaling rs = arch.ropeScaling();
        if (rs == null) {
            c.putNull("rope_scaling");
        } else {
            ObjectNode r = c.putObject("rope_scaling");
            r.put("rope_type", "llama3");
            r.put("factor", rs.factor());
            r.put("low_freq_factor", rs.lowFreqFactor());
            r.put("high_freq_factor", rs.highFreqFactor());
            r.put("original_max_position_embeddings", rs.originalMaxPositions());
        }
        c.put("tie_word_embeddings", arch.tieEmbeddings());
        c.put("attention_bias", arch.attentionBias());
        c.put("attention_dropout", 0.0);
        if (arch.family().equals("llama")) {
            c.put("mlp_bias", false);
        }
        if (arch.experts() > 0) {
            c.put("num_experts", arch.experts());
            c.put("num_experts_per_tok", arch.expertsPerToken());
            c.put("moe_intermediate_size", arch.moeIntermediate());
            c.put("norm_topk_prob", arch.normTopkProb());
            c.put("router_aux_loss_coef", arch.routerAuxLossCoef());
            c.put("decoder_sparse_step", 1);
            ArrayNode dense = c.putArray("mlp_only_layers");
            for (int i = 0; i < arch.layers(); i++) {
                if (!arch.isMoeLayer(i)) {
                    dense.add(i);
                }
            }
            c.put("output_router_logits", false);
        }
        if (bosId != null) {
            c.put("bos_token_id", bosId);
        }
        if (eosId != null) {
            c.put("eos_token_id", eosId);
        }
        c.put("torch_dtype", torchDtype);
        c.put("use_cache", true);
        return c;
    }
}
