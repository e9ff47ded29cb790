package dev.panomni.parallel.engine;

import dev.panomni.tensor.Tensor;

/**
 * What an FSDP unit computes: a function of its tensor inputs (and of the parameters of the unit's
 * module, which it reads from the module as usual). It returns the unit's main output first and
 * may return side outputs after it (floating tensors computed inside the unit that the loss also
 * uses, such as a router's probability sums); gradients reach all of them. It is called once in
 * the forward and once more in the backward (recomputation), so it must compute the same thing both
 * times.
 */
@FunctionalInterface
public interface UnitFunction {
    Tensor[] apply(Tensor[] inputs);
}
