package dev.panomni.trainer.checkpoint;

/** A checkpoint that cannot be written, found or read; the message names the path and the cause. */
public class CheckpointException extends RuntimeException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
