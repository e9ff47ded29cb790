package dev.panomni.bindings;

/** A library was loaded but does not export a symbol the bindings call (usually: the installed version is too old). */
public final class NativeSymbolNotFoundException extends NativeLibraryException {
    public NativeSymbolNotFoundException(String message) {
        super(message);
    }
}
