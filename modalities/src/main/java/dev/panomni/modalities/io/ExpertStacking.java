package dev.panomni.modalities.io;

import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Views;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Maps Mixture-of-Experts checkpoints that store one tensor per expert (Hugging Face Qwen3-MoE,
 * Qwen2-MoE) to stacked tensors with a leading experts dimension, and back.
 *
 * <p>Naming: the per-expert keys {@code <prefix>.experts.<E>.<proj>.weight} (each [out, in]) become
 * one key {@code <prefix>.experts.<proj>} of shape [experts, out, in], with the {@code .weight}
 * suffix dropped. For Qwen3-MoE that gives
 * {@code model.layers.N.mlp.experts.gate_proj} [E, moe_intermediate, hidden],
 * {@code model.layers.N.mlp.experts.up_proj} [E, moe_intermediate, hidden] and
 * {@code model.layers.N.mlp.experts.down_proj} [E, hidden, moe_intermediate]. Expert {@code e}'s
 * slice of the stacked tensor holds exactly the bytes of its per-expert tensor, so stacking on
 * load and splitting on save are byte-exact.
 */
public final class ExpertStacking {
    private final Pattern perExpert;
    private final Pattern stacked;
    private final List<String> projections;

    private ExpertStacking(List<String> projections) {
        this.projections = List.copyOf(projections);
        String alt = String.join("|", projections.stream().map(Pattern::quote).toList());
        this.perExpert = Pattern.compile("(.*\\.experts)\\.(\\d+)\\.(" + alt + ")\\.weight");
        this.stacked = Pattern.compile("(.*\\.experts)\\.(" + alt + ")");
    }

    /** Qwen3-MoE / Qwen2-MoE experts: {@code gate_proj}, {@code up_proj}, {@code down_proj}. */
    public static ExpertStacking qwen3Moe() {
        return new ExpertStacking(List.of("gate_proj", "up_proj", "down_proj"));
    }

    /** The projection names this stacking handles, in per-expert checkpoint order. */
    public List<String> projections() {
        return projections;
    }

    /** The stacked key for a per-expert key, or null when {@code name} is not one. */
    public String stackedName(String name) {
        Matcher m = perExpert.matcher(name);
        return m.matches() ? m.group(1) + "." + m.group(3) : null;
    }

    /** The per-expert checkpoint key of expert {@code expert} within {@code stackedName}. */
    public String perExpertName(String stackedName, int expert) {
        Matcher m = stacked.matcher(stackedName);
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + stackedName + "' is not a stacked expert key (<prefix>.experts.<"
                    + String.join("|", projections) + ">)");
        }
        return m.group(1) + "." + expert + "." + m.group(2) + ".weight";
    }

    /** True when {@code name} is a stacked key ({@code <prefix>.experts.<proj>}). */
    public boolean isStacked(String name) {
        return stacked.matcher(name).matches();
    }

    /**
     * Groups the per-expert keys among {@code checkpointNames} by stacked key, each list ordered by
     * expert index. Throws when a group's expert indices are not exactly 0..E-1.
     */
    public Map<String, List<String>> groups(Collection<String> checkpointNames) {
        Map<String, TreeMap<Integer, String>> byStack = new LinkedHashMap<>();
        for (String n : checkpointNames) {
            Matcher m = perExpert.matcher(n);
            if (m.matches()) {
                String key = m.group(1) + "." + m.group(3);
                int expert;
                try {
                    expert = Integer.parseInt(m.group(2));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("expert index out of range in '" + n + "'");
                }
                byStack.computeIfAbsent(key, k -> new TreeMap<>()).put(expert, n);
            }
        }
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (Map.Entry<String, TreeMap<Integer, String>> e : byStack.entrySet()) {
            TreeMap<Integer, String> experts = e.getValue();
            int count = experts.lastKey() + 1;
            if (experts.size() != count) {
                List<Integer> missing = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    if (!experts.containsKey(i)) {
                        missing.add(i);
                    }
                }
                throw new IllegalArgumentException("cannot stack '" + e.getKey() + "': experts " + missing
                        + " are missing among 0.." + (count - 1));
            }
            out.put(e.getKey(), new ArrayList<>(experts.values()));
        }
        return out;
    }

    /**
     * The checkpoint form of a model state: stacked tensors [E, ...] are replaced, in place in the
     * iteration order, by per-expert views [...] named {@code <prefix>.experts.<e>.<proj>.weight},
     * ordered expert by expert and, within an expert, by {@link #projections()} (the order
     * transformers saves them in). Other entries pass through. The views share storage with the
     * stacked tensors and belong to the current scope.
     */
    public Map<String, Tensor> split(Map<String, Tensor> modelState) {
        Map<String, Map<String, Tensor>> byPrefix = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : modelState.entrySet()) {
            Matcher m = stacked.matcher(e.getKey());
            if (m.matches()) {
                if (e.getValue().rank() < 1) {
                    throw new IllegalArgumentException("stacked expert tensor '" + e.getKey() + "' must have a leading experts dim, got "
                            + Shapes.str(e.getValue().shape()));
                }
                byPrefix.computeIfAbsent(m.group(1), k -> new TreeMap<>(
                        (a, b) -> Integer.compare(projections.indexOf(a), projections.indexOf(b)))).put(m.group(2), e.getValue());
            }
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : modelState.entrySet()) {
            Matcher m = stacked.matcher(e.getKey());
            if (!m.matches()) {
                out.put(e.getKey(), e.getValue());
                continue;
            }
            Map<String, Tensor> group = byPrefix.remove(m.group(1));
            if (group == null) {
                continue; // emitted with the first projection of its prefix
            }
            long experts = -1;
            for (Map.Entry<String, Tensor> p : group.entrySet()) {
                long n = p.getValue().size(0);
                if (experts >= 0 && n != experts) {
                    throw new IllegalArgumentException("stacked expert tensors under '" + m.group(1) + "' disagree on the expert count: "
                            + experts + " vs " + n + " in '" + m.group(1) + "." + p.getKey() + "'");
                }
                experts = n;
            }
            for (int x = 0; x < experts; x++) {
                for (Map.Entry<String, Tensor> p : group.entrySet()) {
                    final int expert = x;
                    Tensor view = GradMode.noGrad(() -> Views.squeeze(Views.narrow(p.getValue(), 0, expert, 1), 0));
                    out.put(m.group(1) + "." + x + "." + p.getKey() + ".weight", view);
                }
            }
        }
        return out;
    }
}
