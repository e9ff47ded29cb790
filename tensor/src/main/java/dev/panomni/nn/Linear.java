package dev.panomni.nn;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Linalg;
import dev.panomni.tensor.random.Generator;

/**
 * {@code y = x W^T + b}: parameters {@code weight} [out, in] and, unless disabled, {@code bias} [out].
 */
public final class Linear extends Module {
    private final long in;
    private final long out;

    /**
     * PyTorch's {@code nn.Linear} initialization: weight and bias uniform in
     * [-1/sqrt(in), 1/sqrt(in)).
     */
    public Linear(long in, long out, boolean bias, Generator gen) {
        this.in = checkSizes(in, out);
        this.out = out;
        double bound = 1.0 / Math.sqrt(in);
        registerParameter("weight", gen.uniform(new long[] {out, in}, -bound, bound));
        if (bias) {
            registerParameter("bias", gen.uniform(new long[] {out}, -bound, bound));
        }
    }

    /** Weight drawn from normal(0, std) (transformers typically use 0.02), bias zeros. */
    public Linear(long in, long out, boolean bias, Generator gen, double std) {
        this.in = checkSizes(in, out);
        this.out = out;
        registerParameter("weight", gen.normal(new long[] {out, in}, 0.0, std));
        if (bias) {
            registerParameter("bias", Tensor.zeros(out));
        }
    }

    private static long checkSizes(long in, long out) {
        if (in <= 0 || out <= 0) {
            throw new IllegalArgumentException("Linear: in and out features must be > 0, got " + in + " and " + out);
        }
        return in;
    }

    /**
     * @param x [..., in] in the weight's dtype
     * @return [..., out]
     */
    public Tensor forward(Tensor x) {
        return Linalg.linear(x, weight(), bias());
    }

    /** [out, in]. */
    public Tensor weight() {
        return param("weight");
    }

    /** [out], or null without bias. */
    public Tensor bias() {
        return paramOrNull("bias");
    }

    public long inFeatures() {
        return in;
    }

    public long outFeatures() {
        return out;
    }
}
