package dev.panomni.tensor.autograd;

import dev.panomni.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The autograd record of one fused op: its inputs (edges to their producers or leaves), the tensors
 * its backward needs, and the backward itself. Ops create a subclass per op, written next to the
 * forward, and register it with {@link Autograd#record}.
 *
 * <p>Saved tensors are held by their own handles, so they outlive the forward's scope, and are
 * released as soon as this node's backward has run.
 */
public abstract class Node {
    private final String op;
    private final Tensor[] inputs;
    private final int outputs;
    private final List<Tensor> saved = new ArrayList<>();
    private boolean savedReleased;
    private long[][] outputShapes;
    private dev.panomni.tensor.DType[] outputDtypes;
    private dev.panomni.tensor.Device outputDevice;

    /**
     * @param op      op name, shown in errors
     * @param outputs number of outputs the forward produced
     * @param inputs  the forward's tensor inputs, in the order {@link #backward} returns their gradients
     */
    protected Node(String op, int outputs, Tensor... inputs) {
        this.op = op;
        this.outputs = outputs;
        this.inputs = inputs.clone();
    }

    /** Single-output node. */
    protected Node(String op, Tensor... inputs) {
        this(op, 1, inputs);
    }

    public final String op() {
        return op;
    }

    public final int outputCount() {
        return outputs;
    }

    /** Inputs as given to the forward (entries may be null for non-tensor arguments). */
    public final Tensor input(int i) {
        return inputs[i];
    }

    public final int inputCount() {
        return inputs.length;
    }

    /** Whether input {@code i} needs a gradient; backward may return null for inputs that do not. */
    public final boolean needsGrad(int i) {
        return inputs[i] != null && inputs[i].requiresGrad();
    }

    /** Keeps {@code t} alive for backward and returns the handle to use there. */
    protected final Tensor save(Tensor t) {
        Tensor h = t.unownedAlias();
        saved.add(h);
        return h;
    }

    /** Throws when backward runs a second time after the saved tensors were released. */
    protected final void checkSaved() {
        if (savedReleased) {
            throw new IllegalStateException(op + ": backward through this graph a second time; its saved tensors "
                    + "were already released after the first backward");
        }
    }

    /**
     * Gradients of the inputs given gradients of the outputs (entries for outputs that received none
     * are zeros of the output's shape). Returns one entry per input; null where {@link #needsGrad} is
     * false. Runs with grad mode off.
     */
    protected abstract Tensor[] backward(Tensor[] gradOutputs);

    final Tensor[] runBackward(Tensor[] gradOutputs) {
        checkSaved();
        return backward(gradOutputs);
    }

    final void describeOutputs(Tensor[] outs) {
        outputShapes = new long[outs.length][];
        outputDtypes = new dev.panomni.tensor.DType[outs.length];
        for (int i = 0; i < outs.length; i++) {
            outputShapes[i] = outs[i].shape();
            outputDtypes[i] = outs[i].dtype();
        }
        outputDevice = outs[0].device();
    }

    /** Shape of output {@code i} as the forward produced it. */
    public final long[] outputShape(int i) {
        return outputShapes[i].clone();
    }

    public final dev.panomni.tensor.DType outputDtype(int i) {
        return outputDtypes[i];
    }

    public final dev.panomni.tensor.Device outputDevice() {
        return outputDevice;
    }

    /** Releases saved tensors; called by the engine after backward. */
    final void releaseSaved() {
        for (Tensor t : saved) {
            t.close();
        }
        saved.clear();
        savedReleased = true;
    }

    @Override
    public String toString() {
        return op + "Backward";
    }
}
