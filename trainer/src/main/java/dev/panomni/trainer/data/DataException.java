package dev.panomni.trainer.data;

/** Input data that cannot be trained on (missing file, malformed line in fail mode, no documents). */
public final class DataException extends RuntimeException {
    public DataException(String message) {
        super(message);
    }

    public DataException(String message, Throwable cause) {
        super(message, cause);
    }
}
