package dev.panomni.parallel.engine;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;
import dev.panomni.tensor.autograd.RecomputeStash;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.Reductions;

import java.util.ArrayList;
import java.util.List;

/**
 * The autograd record of one FSDP unit call. The forward ran without recording (its gathered
 * parameters were freed right after); this backward gathers them again (or takes the gather that
 * the unit after it prefetched), starts the prefetch of the unit before it, recomputes the unit with
 * recording on, back-propagates the incoming gradients through that short-lived graph, starts the
 * reduce-scatter of the parameter gradients, frees the gathered parameters and returns the inputs'
 * gradients. The recomputation takes back what the forward saved in the unit's {@link RecomputeStash}
 * (expert-parallel exchanges, routing tables) instead of communicating again.
 */
final class UnitNode extends Node {
    private final ParallelModel engine;
    private final FsdpUnit unit;
    private final UnitFunction fn;
    private final Tensor[] saved;
    private final int position;
    private final RecomputeStash stash;

    UnitNode(ParallelModel engine, FsdpUnit unit, UnitFunction fn, Tensor[] inputs, int outputs, int position,
             RecomputeStash stash) {
        super("fsdpUnit", outputs, inputs);
        this.engine = engine;
        this.unit = unit;
        this.fn = fn;
        this.position = position;
        this.stash = stash;
        this.saved = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            saved[i] = save(inputs[i]);
        }
    }

    @Override
    protected Tensor[] backward(Tensor[] gradOutputs) {
        unit.prefetch();                        // own gather first (unless prefetched or still installed),
        engine.beforeUnitBackward(position);    // then the previous unit's, which overlaps this recomputation
        Tensor[] detached = new Tensor[saved.length];
        for (int i = 0; i < saved.length; i++) {
            detached[i] = saved[i].alias();
            if (needsGrad(i)) {
                detached[i].requiresGrad(true);
            }
        }
        try {
            unit.install();
            GradMode.enableGrad(() -> {
                Tensor[] outs = stash.replaying(() -> fn.apply(detached));
                if (outs.length != gradOutputs.length) {
                    throw new IllegalStateException("unit " + unit.name() + " returned " + outs.length
                            + " outputs on recomputation, " + gradOutputs.length + " in the forward");
                }
                List<Tensor> roots = new ArrayList<>();
                List<Tensor> seeds = new ArrayList<>();
                for (int i = 0; i < outs.length; i++) {
                    if (outs[i].requiresGrad()) {
                        roots.add(outs[i]);
                        seeds.add(gradOutputs[i]);
                    }
                }
                if (roots.size() == 1) {
                    Autograd.backward(roots.get(0), seeds.get(0));
                } else if (!roots.isEmpty()) {
                    // One backward through everything: the sum of <output, seed> has exactly the seeds as
                    // its output gradients.
                    Tensor total = null;
                    for (int i = 0; i < roots.size(); i++) {
                        Tensor dot = Reductions.sumAll(Arith.mul(roots.get(i), seeds.get(i).to(roots.get(i).dtype())))
                                .to(DType.F32);
                        total = total == null ? dot : Arith.add(total, dot);
                    }
                    Autograd.backward(total, null);
                }
                return null;
            });
            unit.startReduce();
            engine.reduceStarted(unit);
        } finally {
            unit.uninstall();
            stash.close();
        }
        Tensor[] grads = new Tensor[saved.length];
        for (int i = 0; i < saved.length; i++) {
            grads[i] = needsGrad(i) ? detached[i].grad() : null;
        }
        return grads;
    }
}
