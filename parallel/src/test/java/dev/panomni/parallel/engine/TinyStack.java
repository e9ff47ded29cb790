package dev.panomni.parallel.engine;

import dev.panomni.nn.Module;
import dev.panomni.nn.ModuleList;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Linalg;
import dev.panomni.tensor.ops.Reductions;
import dev.panomni.tensor.ops.UnaryMath;
import dev.panomni.tensor.random.Generator;

import java.util.List;
import java.util.function.Consumer;

/**
 * A model that is not a text model: two tanh layers (5 -> 6 -> 5) and a head (5 -> 3), with odd
 * sizes so shards get padding. Each layer's forward reports itself to a listener.
 */
final class TinyStack extends Module {
    static final class Layer extends Module {
        final String label;
        Consumer<String> listener = s -> { };

        Layer(String label, long in, long out, Generator g) {
            this.label = label;
            registerParameter("weight", g.normal(new long[] {out, in}, 0, 0.5));
            registerParameter("bias", g.normal(new long[] {out}, 0, 0.1));
        }

        Tensor forward(Tensor x) {
            listener.accept("compute " + label);
            return UnaryMath.tanh(Linalg.linear(x, param("weight"), param("bias")));
        }
    }

    final ModuleList<Layer> layers;

    TinyStack(long seed) {
        Generator g = new Generator(seed);
        layers = registerModule("layers", new ModuleList<Layer>());
        layers.add(new Layer("layer0", 5, 6, g));
        layers.add(new Layer("layer1", 6, 5, g));
        registerParameter("head", g.normal(new long[] {3, 5}, 0, 0.5));
    }

    interface Runner {
        Tensor run(Layer layer, Tensor x);
    }

    /** Sum of squares of the head's outputs, layers run through {@code runner}. */
    Tensor loss(Tensor x, Runner runner) {
        Tensor h = x;
        for (Layer l : List.of(layers.get(0), layers.get(1))) {
            h = runner.run(l, h);
        }
        Tensor y = Linalg.linear(h, param("head"), null);
        return Reductions.sumAll(UnaryMath.square(y));
    }
}
