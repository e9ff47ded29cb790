package dev.panomni.bench.cuda;

import dev.panomni.kernels.runtime.CudaDevice;
import dev.panomni.tensor.Backends;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Layout;
import dev.panomni.tensor.ops.LinalgKernels;
import dev.panomni.tensor.random.Generator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * bf16 GEMM {@code C [n, n] = A [n, n] B [n, n]} through {@code CudaLinalgKernels} (cuBLASLt, fp32
 * accumulation) on random inputs (never zeros: zeros run faster than real data). JMH reports
 * milliseconds per GEMM (host clock, {@value #REPS} GEMMs per invocation then a sync); the figure to
 * compare with PyTorch is the {@code [cuda-events]} line printed at the end: the median over
 * invocations of device time per GEMM, as TFLOP/s ({@code 2 n^3} flops).
 *
 * <p>{@code java -jar bench/target/benchmarks.jar CudaGemm} (next to {@code python3
 * bench/scripts/torch_reference.py}, same GPU, same run).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@State(Scope.Thread)
public class CudaGemmBenchmark {
    static final int REPS = 20;

    @Param({"4096", "8192"})
    public int n;

    private CudaDevice device;
    private EventTimer timer;
    private LinalgKernels gemm;
    private Tensor a;
    private Tensor b;
    private Tensor c;
    private dev.panomni.tensor.Scope scope;

    @Setup(Level.Trial)
    public void setUp() {
        device = EventTimer.gpu();
        scope = dev.panomni.tensor.Scope.open("gemm bench");
        Device cuda = device.device();
        a = random(1, cuda);
        b = random(2, cuda);
        c = Tensor.empty(DType.BF16, cuda, 1, n, n);
        gemm = Backends.forDevice(cuda).kernels(LinalgKernels.class);
        timer = new EventTimer(device);
        for (int i = 0; i < 3; i++) {
            timer.sample(REPS, this::one); // heuristic, workspace and clocks out of the numbers
        }
        timer.reset();
    }

    private Tensor random(long seed, Device cuda) {
        Tensor host = new Generator(seed).uniform(new long[] {1, n, n}, -1, 1);
        return Layout.cast(Layout.toDevice(host, cuda), DType.BF16);
    }

    private void one() {
        gemm.gemm(a, b, c, 1f, 0f);
    }

    @Benchmark
    @OperationsPerInvocation(REPS)
    public double gemmBf16() {
        return timer.sample(REPS, this::one);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        timer.report("bf16 GEMM " + n + "^3 (cuBLASLt)", "TFLOP/s", 2.0 * n * n * (double) n / 1e12);
        timer.close();
        scope.close();
        device.synchronize();
    }
}
