package dev.panomni.modalities.text.model;

import dev.panomni.nn.Module;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Activations;
import dev.panomni.tensor.random.Generator;

/** The SwiGLU MLP: {@code down_proj(silu(gate_proj(x)) * up_proj(x))}. */
public final class DenseMlp extends Module {
    DenseMlp(long hidden, long intermediate, Generator gen) {
        registerModule("gate_proj", new ProjectionWeights(hidden, intermediate, false, gen));
        registerModule("up_proj", new ProjectionWeights(hidden, intermediate, false, gen));
        registerModule("down_proj", new ProjectionWeights(intermediate, hidden, false, gen));
    }

    /** x [T, hidden] -> [T, hidden]. */
    public Tensor forward(Tensor x) {
        Tensor g = ((ProjectionWeights) module("gate_proj")).forward(x);
        Tensor u = ((ProjectionWeights) module("up_proj")).forward(x);
        return ((ProjectionWeights) module("down_proj")).forward(Activations.swiglu(g, u));
    }
}
