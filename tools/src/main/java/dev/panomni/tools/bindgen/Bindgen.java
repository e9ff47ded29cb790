package dev.panomni.tools.bindgen;

import dev.panomni.tools.bindgen.emit.Emitter;
import dev.panomni.tools.bindgen.model.Bindings;
import dev.panomni.tools.bindgen.model.HeaderModel;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The generator's pipeline, one stage per class: {@link HeaderParser parse} (libclang), {@link AllowListFilter
 * filter} (the allow-list), {@link DependencyResolver resolve dependencies}, {@link NameMangler mangle names},
 * {@link Emitter emit} (Java sources).
 */
public final class Bindgen {
    private Bindgen() {}

    /** Generated sources for one allow-list, by path relative to the Java source root. */
    public static Map<String, String> generate(AllowList allow, List<Path> extraIncludes) {
        HeaderModel model = HeaderParser.parse(allow, extraIncludes);
        Bindings selected = AllowListFilter.select(model, allow);
        Bindings complete = DependencyResolver.resolve(selected, model, allow);
        Bindings named = NameMangler.mangle(complete, allow);
        return Emitter.emit(named, allow);
    }
}
