package dev.panomni.modalities.text.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TextModelConfigTest {
    static TextModelConfig parse(String json) throws Exception {
        return TextModelConfig.parse(new ObjectMapper().readTree(json), "test");
    }

    @Test
    void qwen3SmallMatchesItsPublishedSize() throws Exception {
        TextModelConfig c = parse("""
                {"model_type":"qwen3","vocab_size":151936,"hidden_size":1024,"num_hidden_layers":28,
                 "num_attention_heads":16,"num_key_value_heads":8,"head_dim":128,"intermediate_size":3072,
                 "rope_theta":1000000,"rms_norm_eps":1e-6,"tie_word_embeddings":true}""");
        assertTrue(c.qkNorm());
        assertFalse(c.attentionBias());
        assertEquals(128, c.headDim());
        // Qwen3-0.6B: 596M parameters with the tied head (the design brief's figure).
        assertEquals(596, Math.round(c.parameterCount() / 1e6));
    }

    @Test
    void llama3ScalingAndQwen2BiasAndMoeLayers() throws Exception {
        TextModelConfig l = parse("""
                {"model_type":"llama","vocab_size":128256,"hidden_size":64,"num_hidden_layers":2,
                 "num_attention_heads":4,"num_key_value_heads":2,"intermediate_size":128,"rope_theta":500000,
                 "rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
                 "original_max_position_embeddings":8192}}""");
        assertEquals(16, l.headDim());
        float[] inv = l.ropeInvFreq();
        float[] base = RopeScaling.baseInvFreq(16, 500000);
        assertEquals(base[0], inv[0], 0.0, "high frequencies unscaled");
        assertEquals(base[7] / 8.0, inv[7], 1e-12, "low frequencies divided by the factor");
        TextModelConfig q2 = parse("""
                {"model_type":"qwen2","vocab_size":100,"hidden_size":32,"num_hidden_layers":1,
                 "num_attention_heads":4,"num_key_value_heads":4,"intermediate_size":64}""");
        assertTrue(q2.attentionBias());
        assertFalse(q2.qkNorm());
        TextModelConfig m = parse("""
                {"model_type":"qwen3_moe","vocab_size":100,"hidden_size":32,"num_hidden_layers":4,
                 "num_attention_heads":4,"num_key_value_heads":2,"head_dim":8,"intermediate_size":64,
                 "num_experts":8,"num_experts_per_tok":2,"moe_intermediate_size":16,"norm_topk_prob":true,
                 "decoder_sparse_step":1,"mlp_only_layers":[0]}""");
        assertArrayEquals(new boolean[] {false, true, true, true}, m.moeLayers());
        assertEquals(8, m.experts());
    }

    @Test
    void badConfigsAreNamedErrors() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse("""
                {"model_type":"gpt2","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2}"""));
        assertTrue(e.getMessage().contains("gpt2") && e.getMessage().contains("qwen3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> parse("""
                {"model_type":"llama","vocab_size":10,"hidden_size":12,"num_hidden_layers":1,"num_attention_heads":3,
                 "num_key_value_heads":2}"""));
        assertTrue(e.getMessage().contains("multiple of num_key_value_heads"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> parse("""
                {"model_type":"llama","hidden_size":12,"num_hidden_layers":1,"num_attention_heads":3}"""));
        assertTrue(e.getMessage().contains("vocab_size"), e.getMessage());
    }
}
