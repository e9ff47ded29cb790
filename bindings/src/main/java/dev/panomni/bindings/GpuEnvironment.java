package dev.panomni.bindings;

import dev.panomni.bindings.cublas.CublasLt;
import dev.panomni.bindings.cuda.CUdevice_attribute;
import dev.panomni.bindings.cuda.CUresult;
import dev.panomni.bindings.cuda.CUuuid;
import dev.panomni.bindings.cuda.CudaConstants;
import dev.panomni.bindings.cuda.CudaDriver;
import dev.panomni.bindings.cuda.CudaStatus;
import dev.panomni.bindings.cuda.CudaTypes;
import dev.panomni.bindings.nccl.Nccl;
import dev.panomni.bindings.nccl.ncclResult_t;
import dev.panomni.bindings.nvrtc.Nvrtc;
import dev.panomni.bindings.nvrtc.nvrtcResult;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * What this machine offers for GPU training: the CUDA driver and its GPUs, and the libraries Panomni calls
 * (cuBLASLt, NVRTC, NCCL), each with its version and where it was loaded from, or why it is unusable. Probing loads
 * the libraries but creates no context and allocates no GPU memory.
 */
public final class GpuEnvironment {
    private GpuEnvironment() {}

    /** One library: where it was loaded from and its version, or what went wrong. */
    public record Library(NativeLibrary library, String location, String version, String problem,
                          List<String> searched) {
        public boolean usable() {
            return problem == null;
        }
    }

    /**
     * One GPU.
     *
     * @param totalMemory bytes
     * @param uuid the driver's UUID in nvidia-smi form ({@code GPU-xxxxxxxx-...}), or null
     */
    public record Gpu(int ordinal, String name, long totalMemory, int computeMajor, int computeMinor,
                      int multiprocessors, String uuid) {}

    /**
     * The whole picture.
     *
     * @param driverVersion {@code cuDriverGetVersion} (13000 for CUDA 13.0), 0 when unknown
     * @param driverProblem why the driver cannot be used ({@code cuInit} failed, ...), null when it can
     * @param headersVersion {@code CUDA_VERSION} of the cuda.h the bindings were generated from
     */
    public record Report(Library driver, int driverVersion, String driverProblem, List<Gpu> gpus, Library cublasLt,
                         Library nvrtc, Library nccl, int headersVersion) {
        /** Driver, at least one GPU, cuBLASLt and NVRTC; NCCL as well when there is more than one GPU. */
        public boolean readyForTraining() {
            return driver.usable() && driverProblem == null && !gpus.isEmpty() && cublasLt.usable() && nvrtc.usable()
                    && (gpus.size() <= 1 || nccl.usable());
        }

        /** What {@link #readyForTraining()} is missing, in words; empty when ready. */
        public List<String> missing() {
            List<String> out = new ArrayList<>();
            if (!driver.usable()) {
                out.add("the CUDA driver");
            } else if (driverProblem != null) {
                out.add("a working CUDA driver (" + driverProblem + ")");
            }
            if (driver.usable() && driverProblem == null && gpus.isEmpty()) {
                out.add("a GPU");
            }
            if (!cublasLt.usable()) {
                out.add("cuBLASLt");
            }
            if (!nvrtc.usable()) {
                out.add("NVRTC");
            }
            if (gpus.size() > 1 && !nccl.usable()) {
                out.add("NCCL (" + gpus.size() + " GPUs)");
            }
            return out;
        }
    }

    /** Probes everything; never throws for a missing or broken library (the report says what is wrong). */
    public static Report probe() {
        Library driver = library(NativeLibrary.CUDA, GpuEnvironment::driverVersionText);
        int driverVersion = 0;
        String driverProblem = null;
        List<Gpu> gpus = new ArrayList<>();
        if (driver.usable()) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment v = arena.allocate(JAVA_INT);
                if (CudaDriver.cuDriverGetVersion(v) == CUresult.CUDA_SUCCESS) {
                    driverVersion = v.get(JAVA_INT, 0);
                }
                int rc = CudaDriver.cuInit(0);
                if (rc != CUresult.CUDA_SUCCESS) {
                    driverProblem = "cuInit: " + CudaStatus.name(rc) + ", " + CudaStatus.description(rc);
                } else {
                    gpus = gpus(arena);
                }
            } catch (RuntimeException e) {
                driverProblem = e.getMessage();
            }
        }
        return new Report(driver, driverVersion, driverProblem, List.copyOf(gpus),
                library(NativeLibrary.CUBLASLT, GpuEnvironment::cublasLtVersion),
                library(NativeLibrary.NVRTC, GpuEnvironment::nvrtcVersion),
                library(NativeLibrary.NCCL, GpuEnvironment::ncclVersion),
                CudaConstants.CUDA_VERSION);
    }

    private static List<Gpu> gpus(Arena arena) {
        MemorySegment count = arena.allocate(JAVA_INT);
        CudaStatus.check(CudaDriver.cuDeviceGetCount(count), "cuDeviceGetCount");
        List<Gpu> out = new ArrayList<>();
        for (int i = 0; i < count.get(JAVA_INT, 0); i++) {
            MemorySegment dev = arena.allocate(CudaTypes.CUdevice);
            CudaStatus.check(CudaDriver.cuDeviceGet(dev, i), "cuDeviceGet");
            int d = dev.get(JAVA_INT, 0);
            MemorySegment name = arena.allocate(256);
            CudaStatus.check(CudaDriver.cuDeviceGetName(name, 256, d), "cuDeviceGetName");
            MemorySegment bytes = arena.allocate(JAVA_LONG);
            CudaStatus.check(CudaDriver.cuDeviceTotalMem(bytes, d), "cuDeviceTotalMem");
            MemorySegment uuid = CUuuid.allocate(arena);
            String uuidText = CudaDriver.cuDeviceGetUuid(uuid, d) == CUresult.CUDA_SUCCESS ? uuidText(uuid) : null;
            out.add(new Gpu(i, name.getString(0), bytes.get(JAVA_LONG, 0),
                    attribute(arena, d, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                    attribute(arena, d, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
                    attribute(arena, d, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT), uuidText));
        }
        return out;
    }

    private static int attribute(Arena arena, int device, int attribute) {
        MemorySegment out = arena.allocate(JAVA_INT);
        CudaStatus.check(CudaDriver.cuDeviceGetAttribute(out, attribute, device), "cuDeviceGetAttribute");
        return out.get(JAVA_INT, 0);
    }

    private static String uuidText(MemorySegment uuid) {
        String hex = HexFormat.of().formatHex(CUuuid.bytes(uuid).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        return "GPU-" + hex.substring(0, 8) + "-" + hex.substring(8, 12) + "-" + hex.substring(12, 16) + "-"
                + hex.substring(16, 20) + "-" + hex.substring(20);
    }

    /** Reads a library's version; runs only once the library has loaded. */
    private interface VersionReader {
        String read();
    }

    private static Library library(NativeLibrary lib, VersionReader version) {
        if (!lib.isAvailable()) {
            return new Library(lib, null, null, "not found", lib.searchLog());
        }
        String location = lib.location().orElse("?");
        try {
            return new Library(lib, location, version.read(), null, lib.searchLog());
        } catch (NativeLibraryException e) {
            return new Library(lib, location, null, e.getMessage(), lib.searchLog());
        } catch (RuntimeException e) {
            return new Library(lib, location, null, "version query failed: " + e, lib.searchLog());
        }
    }

    private static String driverVersionText() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(JAVA_INT);
            CudaStatus.check(CudaDriver.cuDriverGetVersion(v), "cuDriverGetVersion");
            return cudaVersion(v.get(JAVA_INT, 0));
        }
    }

    private static String cublasLtVersion() {
        long v = CublasLt.cublasLtGetVersion();
        return (v / 10000) + "." + (v / 100 % 100) + "." + (v % 100);
    }

    private static String nvrtcVersion() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment major = arena.allocate(JAVA_INT);
            MemorySegment minor = arena.allocate(JAVA_INT);
            int rc = Nvrtc.nvrtcVersion(major, minor);
            if (rc != nvrtcResult.NVRTC_SUCCESS) {
                throw new NativeLibraryException("nvrtcVersion returned " + nvrtcResult.nameOf(rc));
            }
            return major.get(JAVA_INT, 0) + "." + minor.get(JAVA_INT, 0);
        }
    }

    private static String ncclVersion() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(JAVA_INT);
            int rc = Nccl.ncclGetVersion(v);
            if (rc != ncclResult_t.ncclSuccess) {
                throw new NativeLibraryException("ncclGetVersion returned " + ncclResult_t.nameOf(rc));
            }
            int code = v.get(JAVA_INT, 0);
            // NCCL_VERSION(X,Y,Z): X*1000+Y*100+Z up to 2.8, X*10000+Y*100+Z from 2.9 on.
            return code >= 10000 ? (code / 10000) + "." + (code / 100 % 100) + "." + (code % 100)
                    : (code / 1000) + "." + (code / 100 % 10) + "." + (code % 100);
        }
    }

    /** {@code 13000} as {@code 13.0}, {@code 12080} as {@code 12.8}. */
    public static String cudaVersion(int code) {
        return (code / 1000) + "." + (code % 1000 / 10);
    }
}
