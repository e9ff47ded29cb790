package dev.panomni.bindings.gpu;

import dev.panomni.bindings.NativeLibrary;
import dev.panomni.bindings.cuda.CudaDriver;
import dev.panomni.bindings.cuda.CudaStatus;
import dev.panomni.bindings.nvrtc.NvrtcCompiler;
import dev.panomni.bindings.nvrtc.NvrtcException;
import dev.panomni.bindings.nvrtc.nvrtcResult;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NVRTC: compile CUDA C++ to PTX for this GPU, load it and launch it; compile errors carry the log. */
@Tag("gpu")
class NvrtcLaunchGpuTest {
    private static final String SOURCE = """
            extern "C" __global__ void scale(float *x, float a, int n) {
                int i = blockIdx.x * blockDim.x + threadIdx.x;
                if (i < n) x[i] *= a;
            }
            """;

    @Test
    void compiledKernelScalesAnArray() {
        Gpu.assumeGpu();
        Gpu.assumeLibrary(NativeLibrary.NVRTC);
        int n = 4_099;
        try (Gpu gpu = Gpu.open(); Arena arena = Arena.ofConfined()) {
            int[] version = NvrtcCompiler.version();
            assertTrue(version[0] >= 11, "NVRTC " + version[0] + "." + version[1]);
            NvrtcCompiler.Result r = NvrtcCompiler.compile(SOURCE, "scale.cu",
                    List.of("--gpu-architecture=compute_" + gpu.computeCapability()));
            assertTrue(r.ptx().contains(".entry scale"), r.ptx());
            MemorySegment module = gpu.loadModule(r.ptx());
            try {
                MemorySegment host = arena.allocate(JAVA_FLOAT, n);
                for (int i = 0; i < n; i++) {
                    host.setAtIndex(JAVA_FLOAT, i, i - 2000);
                }
                long d = gpu.alloc(host.byteSize());
                gpu.upload(d, host);
                gpu.launch(gpu.function(module, "scale"), (n + 127) / 128, 128, gpu.longArg(d), gpu.floatArg(-0.5f),
                        gpu.intArg(n));
                gpu.synchronize();
                gpu.download(host, d);
                gpu.free(d);
                for (int i = 0; i < n; i++) {
                    assertEquals((i - 2000) * -0.5f, host.getAtIndex(JAVA_FLOAT, i), "element " + i);
                }
            } finally {
                CudaStatus.check(CudaDriver.cuModuleUnload(module), "cuModuleUnload");
            }
        }
    }

    @Test
    void compileErrorsCarryTheLog() {
        Gpu.assumeLibrary(NativeLibrary.NVRTC);
        NvrtcException e = assertThrows(NvrtcException.class, () -> NvrtcCompiler.compile(
                "extern \"C\" __global__ void broken(float *x) { x[0] = undeclared_name; }", "broken.cu", List.of()));
        assertEquals(nvrtcResult.NVRTC_ERROR_COMPILATION, e.status());
        assertTrue(e.log().contains("undeclared_name"), e.log());
        assertTrue(e.getMessage().contains("broken.cu") && e.getMessage().contains("undeclared_name"), e.getMessage());
    }
}
