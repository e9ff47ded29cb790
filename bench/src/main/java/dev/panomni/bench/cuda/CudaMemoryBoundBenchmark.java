package dev.panomni.bench.cuda;

import dev.panomni.kernels.runtime.CudaDevice;
import dev.panomni.tensor.Backends;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Layout;
import dev.panomni.tensor.ops.LayoutKernels;
import dev.panomni.tensor.ops.OptimizerKernels;
import dev.panomni.tensor.ops.OptimizerKernels.AdamWHyper;
import dev.panomni.tensor.random.Generator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Memory-bound CUDA work in GB/s (bytes read plus bytes written, over device time from CUDA
 * events, median over invocations), with the same sizes as bench/scripts/torch_reference.py:
 * <ul>
 *   <li>{@code copy}: device-to-device copy of 1 GiB of F32 (LayoutKernels.copy: cuMemcpyDtoDAsync),
 *       the bandwidth ceiling the others are compared with;</li>
 *   <li>{@code castF32ToBf16}: [16384, 4096] F32 to BF16 (6 bytes per element);</li>
 *   <li>{@code adamw}: one fused AdamW step over 8 F32 tensors of [4096, 4096] (as PyTorch's
 *       {@code fused=True}: reads param, grad, m, v and writes param, m, v, 28 bytes per element).</li>
 * </ul>
 * {@code java -jar bench/target/benchmarks.jar CudaMemoryBound}; compare the {@code [cuda-events]}
 * lines with torch_reference.py's {@code d2d_copy_GBps}, {@code cast_f32_bf16_GBps}, {@code adamw_fused_GBps}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class CudaMemoryBoundBenchmark {
    static final int REPS = 10;

    /** Shared device set-up for the three benchmarks. */
    abstract static class GpuState {
        CudaDevice device;
        EventTimer timer;
        dev.panomni.tensor.Scope scope;

        void open() {
            device = EventTimer.gpu();
            scope = dev.panomni.tensor.Scope.open("bench");
            timer = new EventTimer(device);
        }

        void warm(Runnable work) {
            for (int i = 0; i < 3; i++) {
                timer.sample(REPS, work);
            }
            timer.reset();
        }

        void close(String what, double bytesPerRun) {
            timer.report(what, "GB/s", bytesPerRun / 1e9);
            timer.close();
            scope.close();
            device.synchronize();
        }

        static Tensor uniform(long seed, Device d, long... shape) {
            return Layout.toDevice(new Generator(seed).uniform(shape, -1, 1), d);
        }
    }

    @State(Scope.Thread)
    public static class Copy extends GpuState {
        static final long N = 1L << 28;
        Tensor src;
        Tensor dst;
        LayoutKernels layout;

        @Setup(Level.Trial)
        public void setUp() {
            open();
            src = uniform(1, device.device(), N);
            dst = Tensor.empty(DType.F32, device.device(), N);
            layout = Backends.forDevice(device.device()).kernels(LayoutKernels.class);
            warm(this::run);
        }

        void run() {
            layout.copy(src, dst);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            close("device-to-device copy 1 GiB", 2.0 * N * 4);
        }
    }

    @State(Scope.Thread)
    public static class Cast extends GpuState {
        static final long T = 16384;
        static final long H = 4096;
        Tensor src;
        Tensor dst;
        LayoutKernels layout;

        @Setup(Level.Trial)
        public void setUp() {
            open();
            src = uniform(2, device.device(), T, H);
            dst = Tensor.empty(DType.BF16, device.device(), T, H);
            layout = Backends.forDevice(device.device()).kernels(LayoutKernels.class);
            warm(this::run);
        }

        void run() {
            layout.copy(src, dst);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            close("cast F32->BF16 [16384, 4096]", T * H * 6.0);
        }
    }

    @State(Scope.Thread)
    public static class AdamW extends GpuState {
        static final int TENSORS = 8;
        static final long SIDE = 4096;
        Tensor[] params = new Tensor[TENSORS];
        Tensor[] grads = new Tensor[TENSORS];
        Tensor[] m = new Tensor[TENSORS];
        Tensor[] v = new Tensor[TENSORS];
        Tensor[] masters = new Tensor[TENSORS];
        AdamWHyper[] hyper = new AdamWHyper[TENSORS];
        OptimizerKernels optimizer;

        @Setup(Level.Trial)
        public void setUp() {
            open();
            Device d = device.device();
            for (int i = 0; i < TENSORS; i++) {
                params[i] = uniform(10 + i, d, SIDE, SIDE);
                grads[i] = uniform(100 + i, d, SIDE, SIDE);
                m[i] = Tensor.zeros(DType.F32, d, SIDE, SIDE);
                v[i] = Tensor.zeros(DType.F32, d, SIDE, SIDE);
                hyper[i] = new AdamWHyper(1e-3, 0.9, 0.999, 1e-8, 0.01, 1);
            }
            optimizer = Backends.forDevice(d).kernels(OptimizerKernels.class);
            warm(this::run);
        }

        void run() {
            optimizer.adamwStep(params, grads, m, v, masters, hyper);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            close("fused AdamW, 8 x [4096, 4096] F32", TENSORS * SIDE * SIDE * 28.0);
        }
    }

    @Benchmark
    @OperationsPerInvocation(REPS)
    public double copy(Copy s) {
        return s.timer.sample(REPS, s::run);
    }

    @Benchmark
    @OperationsPerInvocation(REPS)
    public double castF32ToBf16(Cast s) {
        return s.timer.sample(REPS, s::run);
    }

    @Benchmark
    @OperationsPerInvocation(REPS)
    public double adamw(AdamW s) {
        return s.timer.sample(REPS, s::run);
    }
}
