package dev.panomni.nn;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Embeddings;
import dev.panomni.tensor.random.Generator;

/** A lookup table of {@code vocab} rows of {@code dim} values: parameter {@code weight} [vocab, dim]. */
public final class Embedding extends Module {
    private final long vocab;
    private final long dim;

    /** Weights drawn from normal(0, 1), as PyTorch's {@code nn.Embedding}. */
    public Embedding(long vocab, long dim, Generator gen) {
        this(vocab, dim, gen, 1.0);
    }

    /** Weights drawn from normal(0, std) (transformers typically use 0.02). */
    public Embedding(long vocab, long dim, Generator gen, double std) {
        if (vocab <= 0 || dim <= 0) {
            throw new IllegalArgumentException("Embedding: vocab and dim must be > 0, got " + vocab + " and " + dim);
        }
        this.vocab = vocab;
        this.dim = dim;
        registerParameter("weight", gen.normal(new long[] {vocab, dim}, 0.0, std));
    }

    /**
     * @param ids [...] I64 or I32 token ids in [0, vocab)
     * @return [..., dim] in the weight's dtype
     */
    public Tensor forward(Tensor ids) {
        return Embeddings.embedding(weight(), ids);
    }

    /** [vocab, dim]. */
    public Tensor weight() {
        return param("weight");
    }

    public long vocab() {
        return vocab;
    }

    public long dim() {
        return dim;
    }
}
