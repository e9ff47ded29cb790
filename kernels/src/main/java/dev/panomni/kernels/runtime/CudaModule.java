package dev.panomni.kernels.runtime;

import dev.panomni.bindings.cuda.CUjit_option;
import dev.panomni.bindings.cuda.CUresult;
import dev.panomni.bindings.cuda.CudaDriver;
import dev.panomni.bindings.cuda.CudaStatus;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A module (PTX or cubin image) loaded into one device's primary context, with its kernels looked
 * up by name and cached. Loading PTX JIT-compiles it for the device (the driver caches the result
 * on disk, so only the first run on a machine pays the compile).
 */
public final class CudaModule {
    private static final int LOG_BYTES = 16 << 10;

    private final CudaDevice device;
    private final String name;
    private final MemorySegment handle;
    private final ConcurrentHashMap<String, MemorySegment> functions = new ConcurrentHashMap<>();

    private CudaModule(CudaDevice device, String name, MemorySegment handle) {
        this.device = device;
        this.name = name;
        this.handle = handle;
    }

    /**
     * Loads {@code image} (PTX text or a cubin) into {@code device}; a JIT error is reported with the
     * compiler's log.
     *
     * @param name what the image is, for messages (e.g. "layout.ptx")
     */
    public static CudaModule load(CudaDevice device, String name, byte[] image) {
        device.makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            // The driver reads PTX as a NUL-terminated string.
            MemorySegment data = arena.allocate(image.length + 1L);
            MemorySegment.copy(MemorySegment.ofArray(image), 0, data, 0, image.length);
            data.set(JAVA_BYTE, image.length, (byte) 0);
            MemorySegment log = arena.allocate(LOG_BYTES);
            MemorySegment options = arena.allocate(JAVA_INT, 2);
            options.setAtIndex(JAVA_INT, 0, CUjit_option.CU_JIT_ERROR_LOG_BUFFER);
            options.setAtIndex(JAVA_INT, 1, CUjit_option.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
            MemorySegment values = arena.allocate(ADDRESS, 2);
            values.setAtIndex(ADDRESS, 0, log);
            // Scalar options travel in the pointer slot itself.
            values.setAtIndex(JAVA_LONG, 1, LOG_BYTES);
            MemorySegment out = arena.allocate(ADDRESS);
            int rc = CudaDriver.cuModuleLoadDataEx(out, data, 2, options, values);
            if (rc != CUresult.CUDA_SUCCESS) {
                String jitLog = log.getString(0).strip();
                throw CudaStatus.exception(rc, "cuModuleLoadDataEx(" + name + " on cuda:" + device.ordinal()
                        + ", compute capability " + device.computeCapability() + ")"
                        + (jitLog.isEmpty() ? "" : "; JIT log:\n" + jitLog));
            }
            return new CudaModule(device, name, out.get(ADDRESS, 0));
        }
    }

    public CudaDevice device() {
        return device;
    }

    public String name() {
        return name;
    }

    /** The {@code CUfunction} of the {@code extern "C"} kernel {@code kernel}. */
    public MemorySegment function(String kernel) {
        MemorySegment f = functions.get(kernel);
        if (f != null) {
            return f;
        }
        return functions.computeIfAbsent(kernel, k -> {
            device.makeCurrent();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(ADDRESS);
                int rc = CudaDriver.cuModuleGetFunction(out, handle, arena.allocateFrom(k));
                if (rc != CUresult.CUDA_SUCCESS) {
                    throw CudaStatus.exception(rc, "cuModuleGetFunction(" + k + " in " + name
                            + "): is the kernel declared extern \"C\" __global__ in the .cu file, and the PTX regenerated?");
                }
                return out.get(ADDRESS, 0);
            }
        });
    }
}
