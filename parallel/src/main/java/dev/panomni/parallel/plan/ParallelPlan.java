package dev.panomni.parallel.plan;

import dev.panomni.parallel.mesh.MeshDim;

import java.util.ArrayList;
import java.util.List;

/**
 * A declarative description of how a single-device model is parallelized, by name patterns only,
 * so a model never contains communication code:
 * <ul>
 *   <li>placements: the first rule whose pattern matches a parameter's name decides its
 *       {@link Placement}; parameters no rule matches use the default;</li>
 *   <li>FSDP units: module prefixes whose parameters are gathered and freed together (typically
 *       one per decoder layer); parameters outside every unit form the root unit;</li>
 *   <li>sequence-parallel modules: attention modules that run Ulysses or ring attention.</li>
 * </ul>
 */
public record ParallelPlan(List<Rule> rules, Placement defaultPlacement, List<NamePattern> fsdpUnits,
                           List<NamePattern> sequenceParallel) {
    /** One placement rule. */
    public record Rule(NamePattern pattern, Placement placement) {
    }

    /** The unit name for parameters outside every FSDP unit. */
    public static final String ROOT_UNIT = "<root>";

    public ParallelPlan {
        rules = List.copyOf(rules);
        fsdpUnits = List.copyOf(fsdpUnits);
        sequenceParallel = List.copyOf(sequenceParallel);
    }

    /** The placement of parameter {@code name}. */
    public Placement placementOf(String name) {
        for (Rule r : rules) {
            if (r.pattern.matches(name)) {
                return r.placement;
            }
        }
        return defaultPlacement;
    }

    /** The FSDP unit (a module prefix such as {@code model.layers.3}) that owns parameter {@code name}. */
    public String unitOf(String name) {
        for (NamePattern p : fsdpUnits) {
            String prefix = p.matchingPrefix(name);
            if (prefix != null && !prefix.equals(name)) {
                return prefix;
            }
        }
        return ROOT_UNIT;
    }

    /** Whether the module {@code name} (e.g. {@code model.layers.0.self_attn}) is sequence parallel. */
    public boolean isSequenceParallel(String moduleName) {
        for (NamePattern p : sequenceParallel) {
            if (p.matches(moduleName)) {
                return true;
            }
        }
        return false;
    }

    /** A builder starting from FSDP over dp_shard x sp for every parameter. */
    public static Builder builder() {
        return new Builder();
    }

    /** Fluent construction of plans. */
    public static final class Builder {
        private final List<Rule> rules = new ArrayList<>();
        private Placement defaultPlacement = new Placement.Sharded(MeshDim.FSDP);
        private final List<NamePattern> units = new ArrayList<>();
        private final List<NamePattern> sp = new ArrayList<>();

        public Builder place(String glob, Placement placement) {
            rules.add(new Rule(NamePattern.of(glob), placement));
            return this;
        }

        public Builder defaultPlacement(Placement placement) {
            this.defaultPlacement = placement;
            return this;
        }

        public Builder fsdpUnit(String glob) {
            units.add(NamePattern.of(glob));
            return this;
        }

        public Builder sequenceParallel(String glob) {
            sp.add(NamePattern.of(glob));
            return this;
        }

        public ParallelPlan build() {
            return new ParallelPlan(rules, defaultPlacement, units, sp);
        }
    }
}
