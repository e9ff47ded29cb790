package dev.panomni.trainer.recipe;

import dev.panomni.modalities.text.model.RopeScaling;
import dev.panomni.trainer.config.ModelConfig;
import dev.panomni.trainer.config.ModelFamily;

/**
 * Llama 3: no query/key norm, no biases; the 3.1 and 3.2 presets use Llama 3's RoPE frequency
 * scaling (factor 8 for 3.1, 32 for 3.2; low/high frequency factors 1 and 4; 8192 original positions).
 */
public final class LlamaRecipe extends DecoderRecipe {
    public LlamaRecipe() {
        super(ModelFamily.LLAMA, "llama", false, false, false);
    }

    @Override
    protected RopeScaling ropeScaling(ModelConfig model) {
        String size = model.size();
        if (size == null) {
            return null;
        }
        if (size.startsWith("3.2")) {
            return new RopeScaling(32.0, 1.0, 4.0, 8192);
        }
        if (size.startsWith("3.1")) {
            return new RopeScaling(8.0, 1.0, 4.0, 8192);
        }
        return null;
    }
}
