package dev.panomni.kernels.runtime;

import dev.panomni.bindings.cuda.CUresult;
import dev.panomni.bindings.cuda.CudaException;
import dev.panomni.bindings.cuda.CudaStatus;

/** Status checks for driver calls, with a hint for errors that surface after the fact. */
public final class CudaErrors {
    private CudaErrors() {
    }

    /** Throws a {@link CudaException} naming {@code call} unless {@code status} is success. */
    public static void check(int status, String call) {
        if (status != CUresult.CUDA_SUCCESS) {
            throw exception(status, call);
        }
    }

    /**
     * The exception for a failed call. Errors that a kernel raised earlier and the driver reports at
     * the next synchronizing call (an illegal address, a failed launch) say how to find the kernel.
     */
    public static CudaException exception(int status, String call) {
        if (isAsynchronousKernelError(status)) {
            return CudaStatus.exception(status, call + " (an earlier kernel failed; rerun with -Dpanomni.cuda.sync=true "
                    + "or PANOMNI_CUDA_SYNC=1 to synchronize after each launch and name the kernel and op)");
        }
        return CudaStatus.exception(status, call);
    }

    /** Whether {@code status} is an error a kernel raises while running (the context is unusable after it). */
    public static boolean isAsynchronousKernelError(int status) {
        return status == CUresult.CUDA_ERROR_ILLEGAL_ADDRESS
                || status == CUresult.CUDA_ERROR_LAUNCH_FAILED
                || status == CUresult.CUDA_ERROR_HARDWARE_STACK_ERROR
                || status == CUresult.CUDA_ERROR_ILLEGAL_INSTRUCTION
                || status == CUresult.CUDA_ERROR_MISALIGNED_ADDRESS
                || status == CUresult.CUDA_ERROR_INVALID_ADDRESS_SPACE
                || status == CUresult.CUDA_ERROR_INVALID_PC
                || status == CUresult.CUDA_ERROR_LAUNCH_TIMEOUT
                || status == CUresult.CUDA_ERROR_ASSERT;
    }
}
