package dev.panomni.bindings.gpu;

import dev.panomni.bindings.cuda.CUfunction_attribute;
import dev.panomni.bindings.cuda.CudaDriver;
import dev.panomni.bindings.cuda.CudaStatus;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading a hand-written PTX module, sizing the launch with the occupancy API, and launching it. */
@Tag("gpu")
class PtxLaunchGpuTest {
    /** {@code add_one(float *data, int n)}: {@code data[i] += 1} for {@code i < n}; {@code empty()} does nothing. */
    static final String PTX = """
            .version 7.0
            .target sm_75
            .address_size 64

            .visible .entry add_one(
                .param .u64 add_one_data,
                .param .u32 add_one_n
            )
            {
                .reg .pred %p<2>;
                .reg .b32 %r<6>;
                .reg .f32 %f<3>;
                .reg .b64 %rd<5>;

                ld.param.u64 %rd1, [add_one_data];
                ld.param.u32 %r2, [add_one_n];
                mov.u32 %r3, %ctaid.x;
                mov.u32 %r4, %ntid.x;
                mov.u32 %r5, %tid.x;
                mad.lo.s32 %r1, %r3, %r4, %r5;
                setp.ge.s32 %p1, %r1, %r2;
                @%p1 bra DONE;
                cvta.to.global.u64 %rd2, %rd1;
                mul.wide.s32 %rd3, %r1, 4;
                add.s64 %rd4, %rd2, %rd3;
                ld.global.f32 %f1, [%rd4];
                add.f32 %f2, %f1, 0f3F800000;
                st.global.f32 [%rd4], %f2;
            DONE:
                ret;
            }

            .visible .entry empty()
            {
                ret;
            }
            """;

    @Test
    void addOneKernelRunsOnEveryElement() {
        int n = 12_345;
        try (Gpu gpu = Gpu.open(); Arena arena = Arena.ofConfined()) {
            MemorySegment module = gpu.loadModule(PTX);
            try {
                MemorySegment addOne = gpu.function(module, "add_one");
                MemorySegment minGrid = arena.allocate(JAVA_INT);
                MemorySegment blockSize = arena.allocate(JAVA_INT);
                CudaStatus.check(CudaDriver.cuOccupancyMaxPotentialBlockSize(minGrid, blockSize, addOne,
                        MemorySegment.NULL, 0, 0), "cuOccupancyMaxPotentialBlockSize");
                int block = blockSize.get(JAVA_INT, 0);
                assertTrue(block >= 32 && block <= 1024, "block size " + block);
                MemorySegment maxThreads = arena.allocate(JAVA_INT);
                CudaStatus.check(CudaDriver.cuFuncGetAttribute(maxThreads,
                        CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, addOne), "cuFuncGetAttribute");
                assertTrue(block <= maxThreads.get(JAVA_INT, 0));

                MemorySegment host = arena.allocate(JAVA_FLOAT, n + 1);
                for (int i = 0; i <= n; i++) {
                    host.setAtIndex(JAVA_FLOAT, i, i);
                }
                long d = gpu.alloc(host.byteSize());
                gpu.upload(d, host);
                // n elements only: the last one must stay untouched (bounds check in the kernel).
                gpu.launch(addOne, (n + block - 1) / block, block, gpu.longArg(d), gpu.intArg(n));
                gpu.launch(gpu.function(module, "empty"), 1, 1);
                gpu.synchronize();
                gpu.download(host, d);
                gpu.free(d);
                for (int i = 0; i < n; i++) {
                    assertEquals(i + 1f, host.getAtIndex(JAVA_FLOAT, i), "element " + i);
                }
                assertEquals((float) n, host.getAtIndex(JAVA_FLOAT, n), "element past n changed");
            } finally {
                CudaStatus.check(CudaDriver.cuModuleUnload(module), "cuModuleUnload");
            }
        }
    }
}
