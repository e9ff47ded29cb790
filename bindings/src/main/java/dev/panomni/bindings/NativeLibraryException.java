package dev.panomni.bindings;

/** A native library or one of its symbols could not be used; the message says what was tried and how to fix it. */
public class NativeLibraryException extends RuntimeException {
    public NativeLibraryException(String message) {
        super(message);
    }

    public NativeLibraryException(String message, Throwable cause) {
        super(message, cause);
    }
}
