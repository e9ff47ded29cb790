package dev.panomni.kernels;

import dev.panomni.kernels.runtime.CudaDevice;
import dev.panomni.kernels.runtime.CudaEvent;
import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.Backend;
import dev.panomni.tensor.Backends;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Storage;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.Layout;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.panomni.kernels.CudaTestSupport.CUDA;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Device memory, host copies of every kind of segment, streams and events, threads, and a tiny end-to-end op. */
@Tag("gpu")
class CudaRuntimeGpuTest {
    @BeforeEach
    void gpu() {
        CudaTestSupport.assumeGpu();
    }

    private static Backend backend() {
        return Backends.forDevice(CUDA);
    }

    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void deviceStorageIsAZeroLengthSegmentAtTheDeviceAddress() {
        CudaDevice d = CudaRuntime.device(0);
        d.synchronize(); // frees queued by earlier tests complete first
        long before = d.poolUsedBytes();
        Storage s = backend().allocate(CUDA, 1 << 20);
        assertEquals(0, s.segment().byteSize());
        assertTrue(s.segment().address() != 0);
        assertEquals(0, s.segment().address() % 64, "64-byte aligned");
        assertTrue(d.poolUsedBytes() >= before + (1 << 20), "pool accounts the allocation");
        s.release();
        assertTrue(s.isFreed());
        d.synchronize();
        System.err.println("device: " + d + ", total " + d.totalMemory() + " bytes");
    }

    @Test
    void hostRoundTripSpansSeveralStagingChunks() {
        int n = (37 << 20) + 3; // more than two 16 MiB chunks, odd tail
        byte[] data = randomBytes(n, 1);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(n);
            MemorySegment.copy(data, 0, host, JAVA_BYTE, 0, n);
            Storage s = backend().allocate(CUDA, n + 128);
            backend().copyFromHost(host, s, 128, n);
            MemorySegment back = arena.allocate(n);
            backend().copyToHost(s, 128, back, n);
            assertEquals(-1, host.mismatch(back));
            s.release();
        }
    }

    @Test
    void heapAndMemoryMappedSegmentsCopyWithoutArrays(@TempDir Path dir) throws Exception {
        byte[] data = randomBytes(3_000_001, 2);
        Path file = dir.resolve("weights.bin");
        Files.write(file, data);
        Storage s = backend().allocate(CUDA, data.length);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
            MemorySegment mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, data.length, arena);
            backend().copyFromHost(mapped, s, 0, data.length);
        }
        byte[] back = new byte[data.length];
        backend().copyToHost(s, 0, MemorySegment.ofArray(back), data.length);
        assertArrayEquals(data, back);
        // heap segment as the source too
        byte[] other = randomBytes(data.length, 3);
        backend().copyFromHost(MemorySegment.ofArray(other), s, 0, data.length);
        backend().copyToHost(s, 0, MemorySegment.ofArray(back), data.length);
        assertArrayEquals(other, back);
        s.release();
    }

    @Test
    void copiesOutsideTheStorageAreRefused() {
        Storage s = backend().allocate(CUDA, 100);
        assertThrows(IndexOutOfBoundsException.class,
                () -> backend().copyFromHost(MemorySegment.ofArray(new byte[64]), s, 50, 64));
        s.release();
    }

    @Test
    void streamsAreOrderedByEventsAndTimed() {
        CudaDevice d = CudaRuntime.device(0);
        int n = 64 << 20;
        long a = d.allocateRaw(n, d.computeStream());
        long b = d.allocateRaw(n, d.computeStream());
        byte[] data = randomBytes(n, 4);
        d.copyFromHost(MemorySegment.ofArray(data), a, n);
        try (CudaStream side = d.newStream("side"); CudaEvent start = d.newEvent(true); CudaEvent end = d.newEvent(true)) {
            side.waitFor(d.computeStream()); // the upload is queued on the compute stream
            start.record(side);
            d.copyDeviceToDevice(b, a, n, side);
            end.record(side);
            d.computeStream().waitFor(side); // the download below reads b
            end.synchronize();
            float ms = end.elapsedMillis(start);
            assertTrue(ms > 0, "elapsed " + ms + " ms");
            System.err.printf("device-to-device copy of %d MiB: %.3f ms, %.0f GB/s (read + write)%n", n >> 20, ms,
                    2.0 * n / (ms * 1e6));
            byte[] back = new byte[n];
            d.copyToHost(b, MemorySegment.ofArray(back), n);
            assertArrayEquals(data, back);
        }
        d.free(a, d.computeStream());
        d.free(b, d.computeStream());
        d.synchronize();
    }

    @Test
    void manyThreadsShareTheDevice() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 12; t++) {
                int seed = t;
                results.add(pool.submit(() -> {
                    try (Scope s = Scope.open("thread")) {
                        Tensor x = CudaTestSupport.random(DType.F32, seed, -1, 1, 1000 + seed);
                        Tensor y = CudaTestSupport.toGpu(x);
                        Tensor z = Arith.add(y, y);
                        float[] expect = x.toFloatArray();
                        float[] got = z.toFloatArray();
                        for (int i = 0; i < expect.length; i++) {
                            if (got[i] != 2 * expect[i]) {
                                return false;
                            }
                        }
                        return true;
                    }
                }));
            }
            for (Future<Boolean> f : results) {
                assertTrue(f.get());
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void endToEndTensorsOnCuda() {
        try (Scope s = Scope.open("e2e")) {
            Tensor a = Tensor.full(DType.F32, CUDA, 1.5, 3, 5);
            Tensor b = CudaTestSupport.toGpu(Tensor.of(new float[] {1, 2, 3, 4, 5}, 5));
            Tensor c = Arith.mul(a, b); // broadcast [3, 5] x [5]
            assertEquals(CUDA, c.device());
            Tensor host = Layout.toDevice(c, Device.CPU);
            float[] v = host.toFloatArray();
            for (int i = 0; i < 15; i++) {
                assertEquals(1.5f * (i % 5 + 1), v[i], "element " + i);
            }
            Tensor bf = Layout.cast(c, DType.BF16);
            assertEquals(DType.BF16, bf.dtype());
            assertEquals(7.5f, bf.toFloatArray()[14]);
            assertTrue(CudaTensors.address(c) != 0);
        }
    }
}
