package dev.panomni.modalities.text.model;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.random.Generator;

/**
 * Initial weights as Hugging Face initializes these families: normal(0, initializer_range = 0.02)
 * for matrices and embeddings, ones for norm weights, zeros for biases. Draws come from one Philox
 * stream in parameter order, so a seed gives the same model on any backend and world size.
 */
final class ModelInit {
    static final double STD = 0.02;

    private ModelInit() {
    }

    static Tensor normal(Generator gen, long... shape) {
        return gen.normal(shape, 0.0, STD);
    }

    static Tensor ones(long... shape) {
        return Tensor.ones(shape);
    }

    static Tensor zeros(long... shape) {
        return Tensor.zeros(shape);
    }
}
