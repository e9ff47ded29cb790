package dev.panomni.parallel.text;

import dev.panomni.parallel.engine.ParallelOptions;
import dev.panomni.parallel.ep.ExpertDispatch;
import dev.panomni.parallel.mesh.MeshShape;
import dev.panomni.parallel.sp.SequenceParallelMode;
import dev.panomni.tensor.DType;

/**
 * One parallel configuration to compare with a single-device run.
 *
 * @param label   the configuration's name in messages ("FSDP 2", "HSDP 2x1", "Ulysses 2 x EP 2")
 * @param model   {@link TinyTextModels#DENSE} or {@link TinyTextModels#MOE}
 * @param shape   the mesh
 * @param options the engine options (compute dtype, sequence-parallel mode, expert dispatch)
 */
public record EquivalenceCase(String label, String model, MeshShape shape, ParallelOptions options) {
    /** A case with the default options but {@code mode} and {@code dtype}. */
    public static EquivalenceCase of(String label, String model, MeshShape shape, SequenceParallelMode mode, DType dtype) {
        return new EquivalenceCase(label, model, shape,
                ParallelOptions.defaults().withSequenceParallel(mode).withComputeDtype(dtype));
    }

    /** This case with its expert-parallel layers dispatching by {@code dispatch}. */
    public EquivalenceCase with(ExpertDispatch dispatch) {
        return new EquivalenceCase(label, model, shape, options.withExpertDispatch(dispatch));
    }

    /** The compute dtype, which the single-device reference uses too. */
    public DType dtype() {
        return options.computeDtype();
    }

    @Override
    public String toString() {
        return label + " (" + model + ", " + dtype() + ")";
    }
}
