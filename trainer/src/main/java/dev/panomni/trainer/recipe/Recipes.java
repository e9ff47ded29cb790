package dev.panomni.trainer.recipe;

import dev.panomni.trainer.config.ModelFamily;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/** The registry: one {@link Recipe} per {@link ModelFamily}. */
public final class Recipes {
    private static final Map<ModelFamily, Recipe> BY_FAMILY = new EnumMap<>(ModelFamily.class);

    static {
        register(new TinyRecipe());
        register(new Qwen3Recipe());
        register(new Qwen3MoeRecipe());
        register(new Qwen2Recipe());
        register(new LlamaRecipe());
    }

    private Recipes() {
    }

    private static void register(Recipe r) {
        if (BY_FAMILY.put(r.family(), r) != null) {
            throw new IllegalStateException("two recipes for family " + r.family());
        }
    }

    /** The recipe of {@code family}. */
    public static Recipe forFamily(ModelFamily family) {
        Recipe r = BY_FAMILY.get(family);
        if (r == null) {
            throw new RecipeException("no recipe for model family " + family + "; registered: " + BY_FAMILY.keySet());
        }
        return r;
    }

    /** Every registered recipe by family. */
    public static Map<ModelFamily, Recipe> all() {
        return Collections.unmodifiableMap(BY_FAMILY);
    }
}
