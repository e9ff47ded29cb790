package dev.panomni.bindings.gpu;

import dev.panomni.bindings.cuda.CUevent_flags;
import dev.panomni.bindings.cuda.CUmemPool_attribute;
import dev.panomni.bindings.cuda.CUresult;
import dev.panomni.bindings.cuda.CudaConstants;
import dev.panomni.bindings.cuda.CudaDriver;
import dev.panomni.bindings.cuda.CudaException;
import dev.panomni.bindings.cuda.CudaStatus;
import dev.panomni.bindings.cuda.CudaTypes;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Device memory: allocate, copy both ways and device to device, memset, stream-ordered pools, pinned host memory. */
@Tag("gpu")
class MemoryRoundTripGpuTest {
    private static final int N = 100_003; // odd, not a multiple of any block size

    @Test
    void synchronousCopiesRoundTrip() {
        try (Gpu gpu = Gpu.open(); Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(JAVA_FLOAT, N);
            for (int i = 0; i < N; i++) {
                host.setAtIndex(JAVA_FLOAT, i, i * 0.25f - 7f);
            }
            long a = gpu.alloc(host.byteSize());
            long b = gpu.alloc(host.byteSize());
            try {
                gpu.upload(a, host);
                CudaStatus.check(CudaDriver.cuMemcpyDtoD(b, a, host.byteSize()), "cuMemcpyDtoD");
                // Overwrite elements [10, 20) of the copy with the bits of 1.5f.
                CudaStatus.check(CudaDriver.cuMemsetD32(b + 10 * 4, Float.floatToRawIntBits(1.5f), 10),
                        "cuMemsetD32");
                MemorySegment back = arena.allocate(JAVA_FLOAT, N);
                gpu.download(back, b);
                for (int i = 0; i < N; i++) {
                    float want = i >= 10 && i < 20 ? 1.5f : i * 0.25f - 7f;
                    assertEquals(want, back.getAtIndex(JAVA_FLOAT, i), "element " + i);
                }
                CudaStatus.check(CudaDriver.cuMemsetD8(b, (byte) 0x7f, 3), "cuMemsetD8");
                gpu.download(back, b);
                for (int i = 0; i < 3; i++) {
                    assertEquals((byte) 0x7f, back.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i), "byte " + i);
                }
                assertEquals(Float.floatToRawIntBits(-7f) >>> 24, back.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 3) & 0xff);
                assertEquals(-6.75f, back.getAtIndex(JAVA_FLOAT, 1));
            } finally {
                gpu.free(a);
                gpu.free(b);
            }
            MemorySegment free = arena.allocate(JAVA_LONG);
            MemorySegment total = arena.allocate(JAVA_LONG);
            CudaStatus.check(CudaDriver.cuMemGetInfo(free, total), "cuMemGetInfo");
            assertTrue(free.get(JAVA_LONG, 0) > 0 && free.get(JAVA_LONG, 0) <= total.get(JAVA_LONG, 0));
        }
    }

    @Test
    void asyncCopiesThroughPinnedMemoryAndTheStreamOrderedPool() {
        try (Gpu gpu = Gpu.open(); Arena arena = Arena.ofConfined()) {
            long bytes = (long) N * 4;
            // Two pinned buffers: an async copy reads its source when the stream gets to it, so the source must
            // not be reused before then.
            MemorySegment pp = arena.allocate(ADDRESS);
            CudaStatus.check(CudaDriver.cuMemHostAlloc(pp, bytes, CudaConstants.CU_MEMHOSTALLOC_PORTABLE),
                    "cuMemHostAlloc");
            MemorySegment pinned = pp.get(ADDRESS, 0).reinterpret(bytes);
            CudaStatus.check(CudaDriver.cuMemHostAlloc(pp, bytes, CudaConstants.CU_MEMHOSTALLOC_PORTABLE),
                    "cuMemHostAlloc");
            MemorySegment result = pp.get(ADDRESS, 0).reinterpret(bytes);
            MemorySegment pool = arena.allocate(CudaTypes.CUmemoryPool);
            CudaStatus.check(CudaDriver.cuDeviceGetDefaultMemPool(pool, gpu.device), "cuDeviceGetDefaultMemPool");
            MemorySegment threshold = arena.allocate(JAVA_LONG);
            threshold.set(JAVA_LONG, 0, 1L << 30); // keep up to 1 GiB cached in the pool between frees
            CudaStatus.check(CudaDriver.cuMemPoolSetAttribute(pool.get(ADDRESS, 0),
                    CUmemPool_attribute.CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, threshold), "cuMemPoolSetAttribute");

            MemorySegment start = arena.allocate(CudaTypes.CUevent);
            MemorySegment end = arena.allocate(CudaTypes.CUevent);
            CudaStatus.check(CudaDriver.cuEventCreate(start, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
            CudaStatus.check(CudaDriver.cuEventCreate(end, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
            try {
                for (int i = 0; i < N; i++) {
                    pinned.setAtIndex(JAVA_INT, i, i * 3 + 1);
                }
                MemorySegment dptr = arena.allocate(CudaTypes.CUdeviceptr);
                CudaStatus.check(CudaDriver.cuEventRecord(start.get(ADDRESS, 0), gpu.stream), "cuEventRecord");
                CudaStatus.check(CudaDriver.cuMemAllocAsync(dptr, bytes, gpu.stream), "cuMemAllocAsync");
                long d = dptr.get(JAVA_LONG, 0);
                CudaStatus.check(CudaDriver.cuMemcpyHtoDAsync(d, pinned, bytes, gpu.stream), "cuMemcpyHtoDAsync");
                CudaStatus.check(CudaDriver.cuMemsetD32Async(d, 5, 1, gpu.stream), "cuMemsetD32Async");
                CudaStatus.check(CudaDriver.cuMemsetD8Async(d + 4, (byte) 0, 4, gpu.stream), "cuMemsetD8Async");
                long e = gpu.alloc(bytes);
                CudaStatus.check(CudaDriver.cuMemcpyDtoDAsync(e, d, bytes, gpu.stream), "cuMemcpyDtoDAsync");
                CudaStatus.check(CudaDriver.cuMemFreeAsync(d, gpu.stream), "cuMemFreeAsync");
                result.fill((byte) -1);
                CudaStatus.check(CudaDriver.cuMemcpyDtoHAsync(result, e, bytes, gpu.stream), "cuMemcpyDtoHAsync");
                CudaStatus.check(CudaDriver.cuEventRecord(end.get(ADDRESS, 0), gpu.stream), "cuEventRecord");
                CudaStatus.check(CudaDriver.cuEventSynchronize(end.get(ADDRESS, 0)), "cuEventSynchronize");
                assertEquals(CUresult.CUDA_SUCCESS, CudaDriver.cuStreamQuery(gpu.stream));
                gpu.free(e);
                assertEquals(5, result.getAtIndex(JAVA_INT, 0));
                assertEquals(0, result.getAtIndex(JAVA_INT, 1));
                for (int i = 2; i < N; i++) {
                    assertEquals(i * 3 + 1, result.getAtIndex(JAVA_INT, i), "element " + i);
                }
                MemorySegment ms = arena.allocate(JAVA_FLOAT);
                CudaStatus.check(CudaDriver.cuEventElapsedTime(ms, start.get(ADDRESS, 0), end.get(ADDRESS, 0)),
                        "cuEventElapsedTime");
                assertTrue(ms.get(JAVA_FLOAT, 0) >= 0f, "elapsed " + ms.get(JAVA_FLOAT, 0));
            } finally {
                CudaDriver.cuEventDestroy(start.get(ADDRESS, 0));
                CudaDriver.cuEventDestroy(end.get(ADDRESS, 0));
                CudaStatus.check(CudaDriver.cuMemFreeHost(pinned), "cuMemFreeHost");
                CudaStatus.check(CudaDriver.cuMemFreeHost(result), "cuMemFreeHost");
            }
        }
    }

    @Test
    void registeredHostMemoryCopiesAndBadCallsBecomeCudaExceptions() {
        try (Gpu gpu = Gpu.open(); Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(1 << 20, 4096);
            host.fill((byte) 9);
            CudaStatus.check(CudaDriver.cuMemHostRegister(host, host.byteSize(),
                    CudaConstants.CU_MEMHOSTREGISTER_PORTABLE), "cuMemHostRegister");
            try {
                long d = gpu.alloc(host.byteSize());
                CudaStatus.check(CudaDriver.cuMemcpyHtoDAsync(d, host, host.byteSize(), gpu.stream),
                        "cuMemcpyHtoDAsync");
                gpu.synchronize(); // the copy reads host memory when the stream runs it: wait before reusing it
                host.fill((byte) 0);
                CudaStatus.check(CudaDriver.cuMemcpyDtoHAsync(host, d, host.byteSize(), gpu.stream),
                        "cuMemcpyDtoHAsync");
                gpu.synchronize();
                assertEquals(9, host.get(java.lang.foreign.ValueLayout.JAVA_BYTE, host.byteSize() - 1));
                gpu.free(d);
            } finally {
                CudaStatus.check(CudaDriver.cuMemHostUnregister(host), "cuMemHostUnregister");
            }
            // Freeing an address that was never allocated is an error the driver reports; it must arrive as a
            // CudaException naming the call and the driver's error.
            CudaException e = assertThrows(CudaException.class,
                    () -> CudaStatus.check(CudaDriver.cuMemFree(0xdead0000L), "cuMemFree"));
            assertTrue(e.getMessage().startsWith("cuMemFree failed: CUDA_ERROR_"), e.getMessage());
        }
    }
}
