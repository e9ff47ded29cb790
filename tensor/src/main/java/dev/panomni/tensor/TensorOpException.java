package dev.panomni.tensor;

/**
 * An op was called with arguments it cannot accept (shapes, dtypes, devices, indices). The message
 * always starts with the op's name and states the offending shapes or values and what is allowed.
 */
public final class TensorOpException extends IllegalArgumentException {
    private final String op;

    public TensorOpException(String op, String problem) {
        super(op + ": " + problem);
        this.op = op;
    }

    /** The op that rejected its arguments, e.g. "matmul". */
    public String op() {
        return op;
    }
}
