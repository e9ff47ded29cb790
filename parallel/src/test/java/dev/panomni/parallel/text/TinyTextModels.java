package dev.panomni.parallel.text;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panomni.modalities.text.model.TextModelConfig;
import dev.panomni.nn.optim.AdamW;
import dev.panomni.nn.optim.ParamGroup;
import dev.panomni.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The models, data and training settings of the equivalence tests: a tiny dense Qwen3 and a tiny
 * Qwen3-MoE, fixed-length documents of fresh tokens each step, AdamW with gradient clipping.
 *
 * <p>AdamW runs with eps = {@value #ADAM_EPS}: Adam divides each element's step by that element's
 * own gradient magnitude, so an element whose gradient cancels to rounding noise (1e-8 here) would
 * get a full-size step of arbitrary sign in any two runs that sum in different orders; an eps above
 * that noise keeps the step a smooth function of the gradient, so comparing parameters is meaningful.
 *
 * <p>The MoE model's documents need no padding for any sp degree up to 4: padding tokens (which the
 * collator adds so the sequence splits evenly, as VeOmni does) are routed like any token and so
 * enter the load-balancing statistics. The dense model's documents do get padded.
 */
public final class TinyTextModels {
    public static final String DENSE = "dense";
    public static final String MOE = "moe";
    public static final int STEPS = 5;
    public static final double LR = 2e-3;
    public static final double WEIGHT_DECAY = 0.1;
    public static final double MAX_NORM = 0.5;
    public static final long SEED = 42;
    public static final double ADAM_EPS = 1e-3;
    public static final int VOCAB = 61;
    /** Dense: 27 tokens, padded for every sp degree. */
    static final int[] DENSE_DOCS = {9, 5, 7, 6};
    /** MoE: lengths that split evenly into 2 x sp chunks for sp 1, 2 and 4 (no padding). */
    static final int[] MOE_DOCS = {12, 4, 8, 8};

    private TinyTextModels() {
    }

    public static TextModelConfig dense() {
        return parse("""
                {"model_type":"qwen3","vocab_size":61,"hidden_size":32,"num_hidden_layers":2,
                 "num_attention_heads":4,"num_key_value_heads":2,"head_dim":8,"intermediate_size":48,
                 "rope_theta":10000,"rms_norm_eps":1e-6,"tie_word_embeddings":false}""", DENSE);
    }

    public static TextModelConfig moe() {
        return parse("""
                {"model_type":"qwen3_moe","vocab_size":61,"hidden_size":32,"num_hidden_layers":2,
                 "num_attention_heads":4,"num_key_value_heads":2,"head_dim":8,"intermediate_size":48,
                 "num_experts":8,"num_experts_per_tok":2,"moe_intermediate_size":16,"norm_topk_prob":true,
                 "router_aux_loss_coef":0.02,"rope_theta":10000,"tie_word_embeddings":false}""", MOE);
    }

    /** {@link #DENSE} or {@link #MOE}. */
    public static TextModelConfig config(String which) {
        return switch (which) {
            case DENSE -> dense();
            case MOE -> moe();
            default -> throw new IllegalArgumentException("no tiny text model '" + which + "' (dense or moe)");
        };
    }

    private static TextModelConfig parse(String json, String name) {
        try {
            return TextModelConfig.parse(new ObjectMapper().readTree(json), name);
        } catch (Exception e) {
            throw new IllegalStateException("tiny " + name + " config does not parse: " + e.getMessage(), e);
        }
    }

    /** The global batch of a step: documents of fixed lengths with fresh tokens (host arrays). */
    public static List<long[]> documents(String which, int step) {
        Random r = new Random(1000 + step);
        List<long[]> docs = new ArrayList<>();
        for (int len : which.equals(MOE) ? MOE_DOCS : DENSE_DOCS) {
            long[] d = new long[len];
            for (int i = 0; i < len; i++) {
                d[i] = r.nextInt(VOCAB);
            }
            docs.add(d);
        }
        return docs;
    }

    /** AdamW over {@code params} (weight decay on matrices only), betas (0.9, 0.95), eps {@value #ADAM_EPS}. */
    public static AdamW optimizer(Map<String, Tensor> params) {
        return new AdamW(ParamGroup.decayMatricesOnly(params, LR, WEIGHT_DECAY), 0.9, 0.95, ADAM_EPS);
    }
}
