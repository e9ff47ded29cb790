package dev.panomni.parallel.comm.nccl;

import dev.panomni.bindings.NativeLibrary;
import dev.panomni.kernels.runtime.CudaRuntime;
import org.junit.jupiter.api.Assumptions;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

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

    /**
     * Keeps NVLink multicast (NVLS) off for the NCCL communicators this JVM creates, as the shared GPU
     * hosts require: sets {@code NCCL_NVLS_ENABLE=0} in the process environment when it is unset
     * (NCCL reads it when it creates its first communicator, so call this before), and skips the
     * calling test when it is set to anything but 0.
     */
    public static void keepMulticastOff() {
        String v = System.getenv("NCCL_NVLS_ENABLE");
        if (v != null) {
            if (!v.trim().equals("0")) {
                skip("NCCL_NVLS_ENABLE=" + v + ": multi-GPU tests run only with NVLink multicast off "
                        + "(NCCL_NVLS_ENABLE=0) on shared GPU hosts");
            }
            return;
        }
        Linker linker = Linker.nativeLinker();
        MethodHandle setenv = linker.downcallHandle(linker.defaultLookup().find("setenv").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        String failure = null;
        try (Arena a = Arena.ofConfined()) {
            int rc = (int) setenv.invokeExact(a.allocateFrom("NCCL_NVLS_ENABLE"), a.allocateFrom("0"), 0);
            failure = rc == 0 ? null : "setenv returned " + rc;
        } catch (Throwable e) {
            failure = e.toString();
        }
        if (failure != null) {
            skip("could not set NCCL_NVLS_ENABLE=0 (" + failure + "); set it in the environment");
        }
        System.err.println("NCCL_NVLS_ENABLE was unset: set to 0 for this JVM (NVLink multicast off)");
    }

    private static void skip(String reason) {
        System.err.println("SKIPPED GPU test: " + reason);
        Assumptions.abort(reason);
    }
}
