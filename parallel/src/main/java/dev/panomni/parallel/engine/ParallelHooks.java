package dev.panomni.parallel.engine;

import dev.panomni.nn.Module;
import dev.panomni.nn.PluggableAttention;
import dev.panomni.nn.PluggableExperts;
import dev.panomni.parallel.mesh.DeviceMesh;
import dev.panomni.parallel.mesh.MeshDim;
import dev.panomni.parallel.plan.ParallelPlan;
import dev.panomni.parallel.plan.Placement;
import dev.panomni.parallel.sp.SequenceContext;
import dev.panomni.parallel.sp.SequenceParallelAttention;

import java.util.Map;

/**
 * Installs the communicating implementations into the modules that accept them, by walking the
 * module tree with the plan: expert-parallel executors into MoE modules whose expert parameters
 * the plan expert-shards, sequence-parallel attention into the attention modules the plan names.
 */
final class ParallelHooks {
    private ParallelHooks() {
    }

    static void install(Module model, ParallelPlan plan, DeviceMesh mesh, ParallelOptions options,
                        SequenceContext context) {
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            String path = e.getKey();
            Module m = e.getValue();
            if (m instanceof PluggableExperts experts && mesh.size(MeshDim.EP) > 1 && expertSharded(m, path, plan)) {
                experts.setExpertExecutor(options.expertDispatch().executor(mesh.group(MeshDim.EP), experts.expertCount()));
            }
            if (m instanceof PluggableAttention attention && mesh.size(MeshDim.SP) > 1 && plan.isSequenceParallel(path)) {
                attention.setAttentionFunction(SequenceParallelAttention.create(options.sequenceParallel(),
                        mesh.group(MeshDim.SP), context));
            }
        }
    }

    /** Whether any parameter under {@code path} is expert-sharded. */
    private static boolean expertSharded(Module m, String path, ParallelPlan plan) {
        for (String local : m.namedParameters().keySet()) {
            String name = path.isEmpty() ? local : path + "." + local;
            if (plan.placementOf(name) instanceof Placement.ExpertSharded) {
                return true;
            }
        }
        return false;
    }
}
