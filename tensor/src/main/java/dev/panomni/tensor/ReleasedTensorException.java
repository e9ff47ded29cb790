package dev.panomni.tensor;

/** Thrown when a tensor, or storage, is used after its owning scope released it. */
public final class ReleasedTensorException extends IllegalStateException {
    public ReleasedTensorException(String message) {
        super(message);
    }
}
