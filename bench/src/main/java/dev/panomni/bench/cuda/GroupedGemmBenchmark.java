package dev.panomni.bench.cuda;

import dev.panomni.kernels.runtime.CudaDevice;
import dev.panomni.tensor.Backends;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.GroupedGemmKernels;
import dev.panomni.tensor.ops.Layout;
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

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The MoE benchmark model's grouped GEMMs (Qwen3-MoE shape: 16,384 tokens x top-8 = 131,072 rows
 * routed uniformly at random over 64 experts, hidden 1024, expert width 512), bf16, for both
 * implementations behind {@code GroupedGemmKernels} on CUDA: our single-launch tensor-core kernel
 * ({@code impl=kernel}) and one cuBLASLt
 * product per expert ({@code impl=cublaslt}). {@code pass}:
 * {@code fwd} (rows x w_g^T, gate/up projection), {@code dx} (rows x w_g) and {@code dw}
 * (dy_g^T x_g). The {@code [cuda-events]} line gives device TFLOP/s ({@code 2 R N K} flops).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@State(Scope.Thread)
public class GroupedGemmBenchmark {
    static final int REPS = 10;
    static final int ROWS = 131_072;
    static final int GROUPS = 64;
    static final int HIDDEN = 1024;
    static final int WIDTH = 512;

    @Param({"kernel", "cublaslt"})
    public String impl;

    @Param({"fwd", "dx", "dw"})
    public String pass;

    private CudaDevice device;
    private EventTimer timer;
    private GroupedGemmKernels kernels;
    private dev.panomni.tensor.Scope scope;
    private long[] offsets;
    private Tensor rowsIn;
    private Tensor w;
    private Tensor rowsOut;
    private Tensor dw;

    @Setup(Level.Trial)
    public void setUp() {
        System.setProperty("panomni.cuda.groupedGemm", impl);
        device = EventTimer.gpu();
        scope = dev.panomni.tensor.Scope.open("grouped gemm bench");
        Device cuda = device.device();
        long[] counts = new long[GROUPS];
        Random rng = new Random(0);
        for (int r = 0; r < ROWS; r++) {
            counts[rng.nextInt(GROUPS)]++;
        }
        offsets = new long[GROUPS + 1];
        for (int g = 0; g < GROUPS; g++) {
            offsets[g + 1] = offsets[g] + counts[g];
        }
        // fwd: [R, 1024] x w [G, 512, 1024]^T; dx: [R, 512] x w [G, 512, 1024]; dw: [G, 512, 1024] from dy [R, 512], x [R, 1024]
        rowsIn = random(1, cuda, ROWS, pass.equals("fwd") ? HIDDEN : WIDTH);
        w = random(2, cuda, GROUPS, WIDTH, HIDDEN);
        rowsOut = pass.equals("dw") ? random(3, cuda, ROWS, HIDDEN)
                : Tensor.empty(DType.BF16, cuda, ROWS, pass.equals("fwd") ? WIDTH : HIDDEN);
        dw = Tensor.empty(DType.BF16, cuda, GROUPS, WIDTH, HIDDEN);
        kernels = Backends.forDevice(cuda).kernels(GroupedGemmKernels.class);
        timer = new EventTimer(device);
        for (int i = 0; i < 3; i++) {
            timer.sample(REPS, this::one);
        }
        timer.reset();
    }

    private static Tensor random(long seed, Device cuda, long... shape) {
        Tensor host = new Generator(seed).uniform(shape, -1, 1);
        return Layout.cast(Layout.toDevice(host, cuda), DType.BF16);
    }

    private void one() {
        switch (pass) {
            case "fwd" -> kernels.forward(rowsIn, w, offsets, rowsOut);
            case "dx" -> kernels.backwardInput(rowsIn, w, offsets, rowsOut);
            default -> kernels.backwardWeight(rowsIn, rowsOut, offsets, dw);
        }
    }

    @Benchmark
    @OperationsPerInvocation(REPS)
    public double groupedGemm() {
        return timer.sample(REPS, this::one);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        timer.report("grouped GEMM " + pass + " bf16 R" + ROWS + " G" + GROUPS + " " + WIDTH + "x" + HIDDEN + " ("
                + impl + ")", "TFLOP/s", 2.0 * ROWS * WIDTH * (double) HIDDEN / 1e12);
        timer.close();
        scope.close();
        device.synchronize();
        System.clearProperty("panomni.cuda.groupedGemm");
    }
}
