package dev.panomni.parallel.comm.nccl;

import dev.panomni.bindings.NativeLibrary;
import dev.panomni.kernels.runtime.CudaRuntime;
import org.junit.jupiter.api.Assumptions;

/** Skips GPU tests, with a visible notice, where CUDA or NCCL is missing. */
public final class NcclTestSupport {
    private NcclTestSupport() {
    }

    /** Skips the calling test unless a GPU and NCCL are usable; prints NCCL's version once it is. */
    public static void assumeNccl() {
        if (!CudaRuntime.isAvailable()) {
            skip("no usable GPU: " + CudaRuntime.unavailableReason());
        }
        if (!NativeLibrary.NCCL.isAvailable()) {
            skip("no NCCL: " + String.join(" or ", NativeLibrary.NCCL.fileNames()) + " not found");
        }
    }

    private static void skip(String reason) {
        System.err.println("SKIPPED GPU test: " + reason);
        Assumptions.abort(reason);
    }
}
