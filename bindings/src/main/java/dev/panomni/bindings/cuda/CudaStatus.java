package dev.panomni.bindings.cuda;

import dev.panomni.bindings.CStrings;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;

/**
 * Turns {@code CUresult} codes into {@link CudaException}s:
 * {@code CudaStatus.check(CudaDriver.cuMemAlloc(ptr, bytes), "cuMemAlloc")}.
 */
public final class CudaStatus {
    private CudaStatus() {}

    /** Throws {@link CudaException} unless {@code status} is {@code CUDA_SUCCESS}. */
    public static void check(int status, String call) {
        if (status != CUresult.CUDA_SUCCESS) {
            throw exception(status, call);
        }
    }

    /** The exception for a failed call, with the driver's name and description of {@code status}. */
    public static CudaException exception(int status, String call) {
        return new CudaException(call, status, name(status), description(status));
    }

    /** {@code cuGetErrorName}, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}; the generated table if the driver cannot say. */
    public static String name(int status) {
        String s = driverString(status, true);
        if (s != null) {
            return s;
        }
        String known = CUresult.nameOf(status);
        return known != null ? known : "unknown CUresult";
    }

    /** {@code cuGetErrorString}, e.g. {@code out of memory}. */
    public static String description(int status) {
        String s = driverString(status, false);
        return s != null ? s : "(no description from the driver)";
    }

    private static String driverString(int status, boolean name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int rc = name ? CudaDriver.cuGetErrorName(status, out) : CudaDriver.cuGetErrorString(status, out);
            return rc == CUresult.CUDA_SUCCESS ? CStrings.read(out.get(ADDRESS, 0)) : null;
        } catch (RuntimeException e) {
            return null; // the driver itself is unusable; the caller falls back to the generated table
        }
    }
}
