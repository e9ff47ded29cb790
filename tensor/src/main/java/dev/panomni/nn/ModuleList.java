package dev.panomni.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

/**
 * An ordered list of submodules named {@code 0}, {@code 1}, ...: registered as {@code layers} in a
 * model, its members' parameters are {@code layers.0.<name>}, {@code layers.1.<name>}, ...
 *
 * @param <M> the member type
 */
public final class ModuleList<M extends Module> extends Module implements Iterable<M> {
    private final List<M> items = new ArrayList<>();

    public ModuleList() {
    }

    public ModuleList(List<? extends M> members) {
        for (M m : members) {
            add(m);
        }
    }

    /** Appends {@code m} under the next index; returns it. */
    public M add(M m) {
        registerModule(Integer.toString(items.size()), m);
        items.add(m);
        return m;
    }

    public M get(int i) {
        return items.get(i);
    }

    public int size() {
        return items.size();
    }

    /** The members in order (unmodifiable). */
    public List<M> asList() {
        return Collections.unmodifiableList(items);
    }

    @Override
    public Iterator<M> iterator() {
        return asList().iterator();
    }
}
