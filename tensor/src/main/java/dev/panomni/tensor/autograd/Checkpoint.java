package dev.panomni.tensor.autograd;

import dev.panomni.tensor.Tensor;

import java.util.function.Function;

/**
 * Activation checkpointing: trades compute for memory by running a block's forward without
 * recording, and recomputing it, recorded, during backward.
 *
 * <p>The forward keeps only the block's inputs (no activations inside the block); backward re-runs
 * {@code fn} with grad enabled on detached handles of the inputs, back-propagates the incoming
 * gradient through that short-lived inner graph, and passes the inputs' gradients on. Parameters
 * used inside {@code fn} get their gradients from the inner backward, as they would without
 * checkpointing.
 *
 * <p>Ops inside may save costly results of the first run for the recomputation through the
 * {@link RecomputeStash} this opens around both.
 *
 * <p>{@code fn} must compute the same thing both times: no randomness that is not seeded by its
 * inputs, no dependence on state that changes between forward and backward.
 */
public final class Checkpoint {
    private Checkpoint() {
    }

    /**
     * {@code fn(inputs)}, recorded as one node whose backward recomputes {@code fn}.
     *
     * <p>When grad mode is on, the node is recorded even if no input requires grad: the parameters
     * {@code fn} uses are invisible from here, and they may (the first block of a model gets token
     * embeddings that do, but a block fed raw features does not).
     *
     * @param fn     the block: a function of the inputs (and of parameters it captures)
     * @param inputs the block's tensor inputs; they are kept alive until backward
     * @return the block's output
     */
    public static Tensor run(Function<Tensor[], Tensor> fn, Tensor... inputs) {
        for (Tensor t : inputs) {
            t.checkLive();
        }
        if (!GradMode.isEnabled()) {
            return fn.apply(inputs);
        }
        RecomputeStash stash = new RecomputeStash("checkpoint");
        Tensor result = GradMode.noGrad(() -> stash.recording(() -> fn.apply(inputs)));
        // A block that hands back one of its inputs must not have the node attached to the caller's tensor.
        Tensor out = java.util.Arrays.stream(inputs).anyMatch(t -> t == result) ? result.alias() : result;
        Autograd.record(new CheckpointNode(fn, inputs, stash), out);
        return out;
    }

    private static final class CheckpointNode extends Node {
        private final Function<Tensor[], Tensor> fn;
        private final Tensor[] saved;
        private final RecomputeStash stash;

        CheckpointNode(Function<Tensor[], Tensor> fn, Tensor[] inputs, RecomputeStash stash) {
            super("checkpoint", inputs);
            this.fn = fn;
            this.stash = stash;
            this.saved = new Tensor[inputs.length];
            for (int i = 0; i < inputs.length; i++) {
                saved[i] = save(inputs[i]);
            }
        }

        @Override
        protected Tensor[] backward(Tensor[] gradOutputs) {
            Tensor[] detached = new Tensor[saved.length];
            for (int i = 0; i < saved.length; i++) {
                detached[i] = saved[i].alias();
                if (needsGrad(i)) {
                    detached[i].requiresGrad(true);
                }
            }
            try (stash) {
                Tensor out = GradMode.enableGrad(() -> stash.replaying(() -> fn.apply(detached)));
                if (out.requiresGrad()) {
                    Autograd.backward(out, gradOutputs[0]);
                }
            }
            Tensor[] grads = new Tensor[saved.length];
            for (int i = 0; i < saved.length; i++) {
                grads[i] = needsGrad(i) ? detached[i].grad() : null;
            }
            return grads;
        }
    }
}
