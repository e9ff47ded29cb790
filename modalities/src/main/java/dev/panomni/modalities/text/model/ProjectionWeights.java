package dev.panomni.modalities.text.model;

import dev.panomni.nn.Module;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Linalg;
import dev.panomni.tensor.random.Generator;

/**
 * A linear projection named like Hugging Face's {@code nn.Linear} ({@code weight} [out, in],
 * optional {@code bias} [out]), initialized the way the model families initialize it.
 */
final class ProjectionWeights extends Module {
    private final boolean bias;

    ProjectionWeights(long in, long out, boolean bias, Generator gen) {
        this.bias = bias;
        registerParameter("weight", ModelInit.normal(gen, out, in));
        if (bias) {
            registerParameter("bias", ModelInit.zeros(out));
        }
    }

    /** x [..., in] -> [..., out]. */
    Tensor forward(Tensor x) {
        return Linalg.linear(x, param("weight"), bias ? param("bias") : null);
    }

    Tensor weight() {
        return param("weight");
    }
}
