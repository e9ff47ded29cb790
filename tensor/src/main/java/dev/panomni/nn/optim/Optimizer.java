package dev.panomni.nn.optim;

import dev.panomni.tensor.Tensor;

import java.util.List;
import java.util.Map;

/**
 * Updates parameters from their gradients. State (moments, master copies, step counts) is owned by
 * the optimizer, kept on the parameters' device, and released by {@link #close()}.
 *
 * <p>A training step: {@code loss.backward(); GradClip.clipGradNorm(...);
 * opt.setLrMultiplier(schedule.multiplierAt(step)); opt.step(); opt.zeroGrad();}
 */
public interface Optimizer extends AutoCloseable {
    /** Updates every parameter that has a gradient; parameters without one are skipped. */
    void step();

    /** Drops every parameter's gradient. */
    void zeroGrad();

    /** The groups, in the order given at construction. */
    List<ParamGroup> paramGroups();

    /** Scales every group's learning rate (the schedule's value for the coming step). */
    void setLrMultiplier(double multiplier);

    double lrMultiplier();

    /** Number of {@link #step()} calls so far (restored by {@link #loadStateDict}). */
    long stepCount();

    /**
     * The state for checkpoints: {@code "step"} (I64 scalar) and per parameter
     * {@code "<param name>.<slot>"} tensors (for example {@code layers.0.mlp.up.weight.exp_avg}) plus
     * {@code "<param name>.step"} (I64 scalar, that parameter's update count). Parameters that were
     * never updated have no entries. The values are the optimizer's own tensors: save them, do not
     * close them.
     */
    Map<String, Tensor> stateDict();

    /**
     * Restores state saved by {@link #stateDict()} of an optimizer of the same kind over parameters
     * of the same names and shapes. Everything is checked before anything is copied.
     *
     * @throws dev.panomni.nn.StateDictException listing unknown keys, incomplete parameters and shape mismatches
     */
    void loadStateDict(Map<String, Tensor> state);

    /** Releases the state. */
    @Override
    void close();
}
