package dev.panomni.trainer.checkpoint;

import java.util.List;

/**
 * A checkpoint whose tensors do not fit the model (another architecture or size): lists every
 * missing, unexpected and differently shaped tensor.
 */
public final class CheckpointMismatchException extends CheckpointException {
    private final List<String> problems;

    public CheckpointMismatchException(String what, java.nio.file.Path dir, List<String> problems) {
        super(what + " tensors of checkpoint " + dir + " do not match (" + problems.size() + " problems):\n  - "
                + String.join("\n  - ", problems));
        this.problems = List.copyOf(problems);
    }

    /** One line per mismatching tensor: its name, and the checkpoint's and the model's shapes. */
    public List<String> problems() {
        return problems;
    }
}
