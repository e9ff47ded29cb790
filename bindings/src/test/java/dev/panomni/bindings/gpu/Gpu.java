package dev.panomni.bindings.gpu;

import dev.panomni.bindings.NativeLibrary;
import dev.panomni.bindings.cuda.CUdevice_attribute;
import dev.panomni.bindings.cuda.CUresult;
import dev.panomni.bindings.cuda.CUstream_flags;
import dev.panomni.bindings.cuda.CudaDriver;
import dev.panomni.bindings.cuda.CudaStatus;
import dev.panomni.bindings.cuda.CudaTypes;
import org.junit.jupiter.api.Assumptions;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Set-up shared by the GPU smoke tests: device 0's primary context made current and a non-blocking stream. Tests
 * are skipped, with a notice naming the reason, where there is no CUDA driver, no GPU, or no library they need.
 */
final class Gpu implements AutoCloseable {
    final int device;
    final MemorySegment context;
    final MemorySegment stream;
    private final Arena arena = Arena.ofConfined();

    private Gpu(int device, MemorySegment context, MemorySegment stream) {
        this.device = device;
        this.context = context;
        this.stream = stream;
    }

    /** Opens device 0, or skips the test when no GPU is usable. */
    static Gpu open() {
        assumeGpu();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment dev = a.allocate(CudaTypes.CUdevice);
            CudaStatus.check(CudaDriver.cuDeviceGet(dev, 0), "cuDeviceGet");
            int device = dev.get(JAVA_INT, 0);
            MemorySegment pctx = a.allocate(CudaTypes.CUcontext);
            CudaStatus.check(CudaDriver.cuDevicePrimaryCtxRetain(pctx, device), "cuDevicePrimaryCtxRetain");
            MemorySegment ctx = pctx.get(ADDRESS, 0);
            CudaStatus.check(CudaDriver.cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
            MemorySegment pstream = a.allocate(CudaTypes.CUstream);
            CudaStatus.check(CudaDriver.cuStreamCreate(pstream, CUstream_flags.CU_STREAM_NON_BLOCKING),
                    "cuStreamCreate");
            return new Gpu(device, ctx, pstream.get(ADDRESS, 0));
        }
    }

    /** Skips the calling test unless the CUDA driver loads, initializes and reports at least one GPU. */
    static void assumeGpu() {
        if (!NativeLibrary.CUDA.isAvailable()) {
            skip("no CUDA driver: libcuda.so.1 not found (" + NativeLibrary.CUDA.searchLog().size()
                    + " places searched; see NativeLibrary.CUDA.searchLog())");
        }
        int rc = CudaDriver.cuInit(0);
        if (rc != CUresult.CUDA_SUCCESS) {
            skip("no usable GPU: cuInit returned " + CudaStatus.name(rc) + " (" + CudaStatus.description(rc) + ")");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment count = a.allocate(JAVA_INT);
            CudaStatus.check(CudaDriver.cuDeviceGetCount(count), "cuDeviceGetCount");
            if (count.get(JAVA_INT, 0) == 0) {
                skip("no GPU: the CUDA driver reports 0 devices");
            }
        }
    }

    /** Skips the calling test when {@code library} is not installed. */
    static void assumeLibrary(NativeLibrary library) {
        if (!library.isAvailable()) {
            skip("no " + library.description() + ": " + String.join(" or ", library.fileNames()) + " not found");
        }
    }

    private static void skip(String reason) {
        System.err.println("SKIPPED GPU test: " + reason);
        Assumptions.abort(reason);
    }

    /** Compute capability as {@code major * 10 + minor} (90 for H100). */
    int computeCapability() {
        return attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR) * 10
                + attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
    }

    int attribute(int attribute) {
        MemorySegment out = arena.allocate(JAVA_INT);
        CudaStatus.check(CudaDriver.cuDeviceGetAttribute(out, attribute, device), "cuDeviceGetAttribute");
        return out.get(JAVA_INT, 0);
    }

    /** {@code cuMemAlloc}; returns the device address. */
    long alloc(long bytes) {
        MemorySegment out = arena.allocate(CudaTypes.CUdeviceptr);
        CudaStatus.check(CudaDriver.cuMemAlloc(out, bytes), "cuMemAlloc");
        return out.get(JAVA_LONG, 0);
    }

    void free(long devicePointer) {
        CudaStatus.check(CudaDriver.cuMemFree(devicePointer), "cuMemFree");
    }

    void upload(long dst, MemorySegment src) {
        CudaStatus.check(CudaDriver.cuMemcpyHtoD(dst, src, src.byteSize()), "cuMemcpyHtoD");
    }

    void download(MemorySegment dst, long src) {
        CudaStatus.check(CudaDriver.cuMemcpyDtoH(dst, src, dst.byteSize()), "cuMemcpyDtoH");
    }

    /** Loads a PTX (or cubin) image; the text must end with a NUL byte, which {@code allocateFrom} adds. */
    MemorySegment loadModule(String ptx) {
        MemorySegment module = arena.allocate(CudaTypes.CUmodule);
        CudaStatus.check(CudaDriver.cuModuleLoadData(module, arena.allocateFrom(ptx)), "cuModuleLoadData");
        return module.get(ADDRESS, 0);
    }

    MemorySegment function(MemorySegment module, String name) {
        MemorySegment f = arena.allocate(CudaTypes.CUfunction);
        CudaStatus.check(CudaDriver.cuModuleGetFunction(f, module, arena.allocateFrom(name)), "cuModuleGetFunction");
        return f.get(ADDRESS, 0);
    }

    /**
     * Launches {@code function} on this stream over a 1-D grid; each argument is a segment holding the parameter's
     * bytes ({@code kernelParams} is an array of pointers to them).
     */
    void launch(MemorySegment function, int grid, int block, MemorySegment... args) {
        MemorySegment params = arena.allocate(ADDRESS, Math.max(1, args.length));
        for (int i = 0; i < args.length; i++) {
            params.setAtIndex(ADDRESS, i, args[i]);
        }
        CudaStatus.check(CudaDriver.cuLaunchKernel(function, grid, 1, 1, block, 1, 1, 0, stream, params,
                MemorySegment.NULL), "cuLaunchKernel");
    }

    MemorySegment longArg(long v) {
        return arena.allocateFrom(JAVA_LONG, v);
    }

    MemorySegment intArg(int v) {
        return arena.allocateFrom(JAVA_INT, v);
    }

    MemorySegment floatArg(float v) {
        return arena.allocateFrom(java.lang.foreign.ValueLayout.JAVA_FLOAT, v);
    }

    void synchronize() {
        CudaStatus.check(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    @Override
    public void close() {
        try {
            CudaStatus.check(CudaDriver.cuStreamDestroy(stream), "cuStreamDestroy");
            CudaStatus.check(CudaDriver.cuDevicePrimaryCtxRelease(device), "cuDevicePrimaryCtxRelease");
        } finally {
            arena.close();
        }
    }
}
