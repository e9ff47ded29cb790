package dev.panomni.bindings;

import java.util.List;

/**
 * No usable copy of a native library was found. {@link #searched()} lists every place that was tried, in order, with
 * what was found there; the message ends with how to point Panomni at the library.
 */
public final class NativeLibraryNotFoundException extends NativeLibraryException {
    private final String library;
    private final List<String> searched;

    public NativeLibraryNotFoundException(String library, List<String> searched, String message) {
        super(message);
        this.library = library;
        this.searched = List.copyOf(searched);
    }

    /** The library's short name, e.g. {@code cuda} or {@code nccl}. */
    public String library() {
        return library;
    }

    /** One line per place searched: the path (or setting) and what was found there. */
    public List<String> searched() {
        return searched;
    }
}
