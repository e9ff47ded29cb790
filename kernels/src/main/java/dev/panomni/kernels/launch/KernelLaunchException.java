package dev.panomni.kernels.launch;

/**
 * A kernel failed to launch, or (with the debug switch {@code panomni.cuda.sync}) failed while
 * running: the message names the kernel, its module, the op that launched it and the launch shape;
 * the cause is the driver's error.
 */
public final class KernelLaunchException extends RuntimeException {
    private final String kernel;
    private final String op;

    KernelLaunchException(String message, String kernel, String op, Throwable cause) {
        super(message, cause);
        this.kernel = kernel;
        this.op = op;
    }

    /** The kernel's name ({@code extern "C"} symbol). */
    public String kernel() {
        return kernel;
    }

    /** The op that launched it, e.g. "LayoutKernels.copy". */
    public String op() {
        return op;
    }
}
