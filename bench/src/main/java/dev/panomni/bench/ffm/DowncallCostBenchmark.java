package dev.panomni.bench.ffm;

import dev.panomni.bindings.NativeLibrary;
import dev.panomni.bindings.cuda.CUstream_flags;
import dev.panomni.bindings.cuda.CudaConstants;
import dev.panomni.bindings.cuda.CudaDriver;
import dev.panomni.bindings.cuda.CudaStatus;
import dev.panomni.bindings.cuda.CudaTypes;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * What one call into the CUDA driver costs from Java through the generated FFM bindings, on the host side:
 * <ul>
 *   <li>{@code cuStreamQuery} on an idle stream, through the generated method and through a handle linked with
 *       {@link Linker.Option#critical(boolean)} (no thread-state transition; safe here because the call is short,
 *       never blocks and never calls back into Java);</li>
 *   <li>{@code cuLaunchKernel} of an empty kernel (asynchronous; once the launch queue is full the driver makes the
 *       call wait, so this measures the sustained launch rate, kernel execution included);</li>
 *   <li>a 4-byte {@code cuMemcpyHtoDAsync} from pinned memory, and a 4-byte device-to-device {@code cuMemcpyAsync};</li>
 *   <li>{@code getpid} through FFM, the floor any downcall pays.</li>
 * </ul>
 * Critical variants exist only for the query: a launch or copy can block when queues are full, which a critical
 * call must never do. Streams are synchronized after every iteration so queued work does not leak between them.
 *
 * <p>Run on a GPU host: {@code java -jar bench/target/benchmarks.jar DowncallCost} (results in bench/RESULTS.md).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@State(Scope.Thread)
public class DowncallCostBenchmark {
    /** {@code empty()}: returns at once; PTX any CUDA 11+ driver can JIT for sm_75 and newer. */
    static final String EMPTY_KERNEL_PTX = """
            .version 7.0
            .target sm_75
            .address_size 64
            .visible .entry empty()
            {
                ret;
            }
            """;

    private Arena arena;
    private int device;
    private MemorySegment stream;
    private MemorySegment module;
    private MemorySegment emptyKernel;
    private MemorySegment noParams;
    private MemorySegment pinned;
    private long deviceA;
    private long deviceB;
    private MethodHandle cuStreamQueryCritical;
    private MethodHandle getpid;

    @Setup(Level.Trial)
    public void setUp() {
        if (!NativeLibrary.CUDA.isAvailable()) {
            throw new IllegalStateException("DowncallCostBenchmark needs a CUDA driver:\n"
                    + String.join("\n", NativeLibrary.CUDA.searchLog()));
        }
        arena = Arena.ofConfined();
        CudaStatus.check(CudaDriver.cuInit(0), "cuInit");
        MemorySegment dev = arena.allocate(CudaTypes.CUdevice);
        CudaStatus.check(CudaDriver.cuDeviceGet(dev, 0), "cuDeviceGet");
        device = dev.get(JAVA_INT, 0);
        MemorySegment ctx = arena.allocate(CudaTypes.CUcontext);
        CudaStatus.check(CudaDriver.cuDevicePrimaryCtxRetain(ctx, device), "cuDevicePrimaryCtxRetain");
        CudaStatus.check(CudaDriver.cuCtxSetCurrent(ctx.get(ADDRESS, 0)), "cuCtxSetCurrent");
        MemorySegment s = arena.allocate(CudaTypes.CUstream);
        CudaStatus.check(CudaDriver.cuStreamCreate(s, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        stream = s.get(ADDRESS, 0);

        MemorySegment m = arena.allocate(CudaTypes.CUmodule);
        CudaStatus.check(CudaDriver.cuModuleLoadData(m, arena.allocateFrom(EMPTY_KERNEL_PTX)), "cuModuleLoadData");
        module = m.get(ADDRESS, 0);
        MemorySegment f = arena.allocate(CudaTypes.CUfunction);
        CudaStatus.check(CudaDriver.cuModuleGetFunction(f, module, arena.allocateFrom("empty")), "cuModuleGetFunction");
        emptyKernel = f.get(ADDRESS, 0);
        noParams = arena.allocate(ADDRESS);

        MemorySegment pp = arena.allocate(ADDRESS);
        CudaStatus.check(CudaDriver.cuMemHostAlloc(pp, 4, CudaConstants.CU_MEMHOSTALLOC_PORTABLE), "cuMemHostAlloc");
        pinned = pp.get(ADDRESS, 0).reinterpret(4);
        MemorySegment d = arena.allocate(CudaTypes.CUdeviceptr);
        CudaStatus.check(CudaDriver.cuMemAlloc(d, 4), "cuMemAlloc");
        deviceA = d.get(JAVA_LONG, 0);
        CudaStatus.check(CudaDriver.cuMemAlloc(d, 4), "cuMemAlloc");
        deviceB = d.get(JAVA_LONG, 0);

        cuStreamQueryCritical = Linker.nativeLinker().downcallHandle(CudaDriver.cuStreamQuery$address(),
                CudaDriver.cuStreamQuery$descriptor(), Linker.Option.critical(false));
        getpid = NativeLibrary.C.downcall("getpid", FunctionDescriptor.of(JAVA_INT));
    }

    @TearDown(Level.Iteration)
    public void drain() {
        CudaStatus.check(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        CudaStatus.check(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
        CudaStatus.check(CudaDriver.cuMemFree(deviceA), "cuMemFree");
        CudaStatus.check(CudaDriver.cuMemFree(deviceB), "cuMemFree");
        CudaStatus.check(CudaDriver.cuMemFreeHost(pinned), "cuMemFreeHost");
        CudaStatus.check(CudaDriver.cuModuleUnload(module), "cuModuleUnload");
        CudaStatus.check(CudaDriver.cuStreamDestroy(stream), "cuStreamDestroy");
        CudaStatus.check(CudaDriver.cuDevicePrimaryCtxRelease(device), "cuDevicePrimaryCtxRelease");
        arena.close();
    }

    @Benchmark
    public int getpidDowncall() throws Throwable {
        return (int) getpid.invokeExact();
    }

    @Benchmark
    public int cuStreamQuery() {
        return CudaDriver.cuStreamQuery(stream);
    }

    @Benchmark
    public int cuStreamQueryCritical() throws Throwable {
        return (int) cuStreamQueryCritical.invokeExact(stream);
    }

    @Benchmark
    public int cuLaunchKernelEmpty() {
        return CudaDriver.cuLaunchKernel(emptyKernel, 1, 1, 1, 1, 1, 1, 0, stream, noParams, MemorySegment.NULL);
    }

    @Benchmark
    public int cuMemcpyHtoDAsync4Bytes() {
        return CudaDriver.cuMemcpyHtoDAsync(deviceA, pinned, 4, stream);
    }

    @Benchmark
    public int cuMemcpyAsync4BytesDeviceToDevice() {
        return CudaDriver.cuMemcpyAsync(deviceB, deviceA, 4, stream);
    }
}
