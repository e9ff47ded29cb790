package dev.panomni.bench.kernels;

import dev.panomni.kernels.runtime.CudaDevice;
import dev.panomni.kernels.runtime.CudaEvent;
import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.Backends;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.ActivationKernels;
import dev.panomni.tensor.ops.AttentionKernels;
import dev.panomni.tensor.ops.Layout;
import dev.panomni.tensor.ops.LayoutKernels;
import dev.panomni.tensor.ops.LossKernels;
import dev.panomni.tensor.ops.NormKernels;
import dev.panomni.tensor.random.Generator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Panomni's CUDA kernels on the shapes bench/scripts/torch_reference.py measures PyTorch on:
 * <ul>
 *   <li>{@code attention}: causal SDPA, B4 H16 S4096 D128 bf16 (packed as T = 16384 tokens in 4
 *       documents), forward and forward+backward, in TFLOP/s with PyTorch's FLOP count (forward
 *       {@code 4 B H S^2 D / 2}, forward+backward 3.5 times that);</li>
 *   <li>memory-bound kernels on [16384, 4096] bf16 activations in GB/s (bytes read plus written
 *       once): RMSNorm forward and backward, SwiGLU forward and backward, the F32->BF16 cast, and
 *       cross-entropy forward and fused forward+gradient on [8192, 32768] bf16 logits;</li>
 *   <li>{@code copy}: a 1 GiB device-to-device copy, the bandwidth ceiling the 70% target refers to.</li>
 * </ul>
 * Each invocation runs the kernel {@link #REPS} times between two CUDA events and waits for the end
 * event; the figure printed at the end of each trial (a line starting with "panomni-bench") is the
 * median over the measurement invocations of that event time. JMH's own score is the wall time of an invocation.
 *
 * <p>Run on a GPU host: {@code java -jar bench/target/benchmarks.jar CudaKernelBenchmark} (add
 * {@code -p kernel=attentionFwdBwd} for one case), next to {@code python3 bench/scripts/torch_reference.py}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector"})
@State(Scope.Thread)
public class CudaKernelBenchmark {
    static final int REPS = 5;
    private static final Device CUDA = Device.cuda(0);

    @Param({"attentionFwd", "attentionFwdBwd", "rmsNormFwd", "rmsNormBwd", "swigluFwd", "swigluBwd", "castF32Bf16",
        "crossEntropyFwd", "crossEntropyFused", "copy"})
    public String kernel;

    private dev.panomni.tensor.Scope scope;
    private CudaDevice device;
    private CudaStream stream;
    private CudaEvent start;
    private CudaEvent end;
    private final List<Float> millis = new ArrayList<>();
    private boolean measuring;
    private Runnable body;
    /** Work per run of the body: FLOPs (attention) or bytes (the rest). */
    private double work;
    private boolean flops;

    @Setup(Level.Trial)
    public void setUp() {
        if (!CudaRuntime.isAvailable()) {
            throw new IllegalStateException("CudaKernelBenchmark needs a GPU: " + CudaRuntime.unavailableReason());
        }
        scope = dev.panomni.tensor.Scope.open("CudaKernelBenchmark");
        device = CudaRuntime.device(CUDA);
        stream = device.computeStream();
        start = device.newEvent(true);
        end = device.newEvent(true);
        switch (kernel) {
            case "attentionFwd", "attentionFwdBwd" -> setUpAttention(kernel.equals("attentionFwdBwd"));
            case "rmsNormFwd", "rmsNormBwd" -> setUpRmsNorm(kernel.equals("rmsNormBwd"));
            case "swigluFwd", "swigluBwd" -> setUpSwiglu(kernel.equals("swigluBwd"));
            case "castF32Bf16" -> setUpCast();
            case "crossEntropyFwd", "crossEntropyFused" -> setUpCrossEntropy(kernel.equals("crossEntropyFused"));
            case "copy" -> setUpCopy();
            default -> throw new IllegalArgumentException("unknown kernel " + kernel);
        }
        body.run();   // module load and JIT outside the timing
        device.synchronize();
    }

    private static Tensor normal(DType dt, long seed, long... shape) {
        return GradMode.noGrad(() -> {
            Tensor host = new Generator(seed).normal(shape, 0, 1);
            return Layout.toDevice(Layout.cast(host, dt), CUDA);
        });
    }

    private static <K> K gpu(Class<K> family) {
        return Backends.forDevice(CUDA).kernels(family);
    }

    private void setUpAttention(boolean backward) {
        int b = 4;
        int h = 16;
        int s = 4096;
        int d = 128;
        int t = b * s;
        Tensor q = normal(DType.BF16, 1, t, h, d);
        Tensor k = normal(DType.BF16, 2, t, h, d);
        Tensor v = normal(DType.BF16, 3, t, h, d);
        Tensor dout = normal(DType.BF16, 4, t, h, d);
        int[] cu = new int[b + 1];
        for (int i = 0; i <= b; i++) {
            cu[i] = i * s;
        }
        Tensor docs = Layout.toDevice(Tensor.ofInts(cu, cu.length), CUDA);
        Tensor out = Tensor.empty(DType.BF16, CUDA, t, h, d);
        Tensor lse = Tensor.empty(DType.F32, CUDA, h, t);
        Tensor dq = Tensor.empty(DType.BF16, CUDA, t, h, d);
        Tensor dk = Tensor.empty(DType.BF16, CUDA, t, h, d);
        Tensor dv = Tensor.empty(DType.BF16, CUDA, t, h, d);
        float scale = (float) (1 / Math.sqrt(d));
        AttentionKernels attn = gpu(AttentionKernels.class);
        double fwdFlops = 4.0 * b * h * (double) s * s * d / 2;
        flops = true;
        work = backward ? 3.5 * fwdFlops : fwdFlops;
        body = backward
                ? () -> {
                    attn.forward(q, k, v, docs, true, scale, out, lse);
                    attn.backward(dout, q, k, v, out, lse, docs, true, scale, dq, dk, dv);
                }
                : () -> attn.forward(q, k, v, docs, true, scale, out, lse);
    }

    private static final long TOKENS = 16384;
    private static final long HIDDEN = 4096;

    private void setUpRmsNorm(boolean backward) {
        Tensor x = normal(DType.BF16, 5, TOKENS, HIDDEN);
        Tensor w = normal(DType.BF16, 6, HIDDEN);
        Tensor y = Tensor.empty(DType.BF16, CUDA, TOKENS, HIDDEN);
        Tensor rstd = Tensor.empty(DType.F32, CUDA, TOKENS);
        NormKernels norms = gpu(NormKernels.class);
        norms.rmsNormForward(x, w, 1e-6f, y, rstd);
        long elems = TOKENS * HIDDEN;
        if (!backward) {
            work = 2.0 * elems * 2;
            body = () -> norms.rmsNormForward(x, w, 1e-6f, y, rstd);
        } else {
            Tensor dy = normal(DType.BF16, 7, TOKENS, HIDDEN);
            Tensor dx = Tensor.empty(DType.BF16, CUDA, TOKENS, HIDDEN);
            Tensor dw = Tensor.empty(DType.F32, CUDA, HIDDEN);
            work = 3.0 * elems * 2;   // read dy and x, write dx
            body = () -> norms.rmsNormBackward(dy, x, w, rstd, dx, dw);
        }
    }

    private void setUpSwiglu(boolean backward) {
        Tensor gate = normal(DType.BF16, 8, TOKENS, HIDDEN);
        Tensor up = normal(DType.BF16, 9, TOKENS, HIDDEN);
        ActivationKernels act = gpu(ActivationKernels.class);
        long elems = TOKENS * HIDDEN;
        if (!backward) {
            Tensor out = Tensor.empty(DType.BF16, CUDA, TOKENS, HIDDEN);
            work = 3.0 * elems * 2;
            body = () -> act.swigluForward(gate, up, out);
        } else {
            Tensor dout = normal(DType.BF16, 10, TOKENS, HIDDEN);
            Tensor dgate = Tensor.empty(DType.BF16, CUDA, TOKENS, HIDDEN);
            Tensor dup = Tensor.empty(DType.BF16, CUDA, TOKENS, HIDDEN);
            work = 5.0 * elems * 2;
            body = () -> act.swigluBackward(dout, gate, up, dgate, dup);
        }
    }

    private void setUpCast() {
        Tensor src = normal(DType.F32, 11, TOKENS, HIDDEN);
        Tensor dst = Tensor.empty(DType.BF16, CUDA, TOKENS, HIDDEN);
        LayoutKernels layout = gpu(LayoutKernels.class);
        work = 6.0 * TOKENS * HIDDEN;
        body = () -> layout.copy(src, dst);
    }

    private void setUpCrossEntropy(boolean fused) {
        long rows = 8192;
        long classes = 32768;
        Tensor logits = normal(DType.BF16, 12, rows, classes);
        long[] t = new long[(int) rows];
        java.util.SplittableRandom r = new java.util.SplittableRandom(13);
        for (int i = 0; i < rows; i++) {
            t[i] = r.nextLong(classes);
        }
        Tensor targets = Layout.toDevice(Tensor.ofLongs(t, rows), CUDA);
        Tensor loss = Tensor.empty(DType.F32, CUDA, rows);
        LossKernels ce = gpu(LossKernels.class);
        long elems = rows * classes;
        if (!fused) {
            Tensor lse = Tensor.empty(DType.F32, CUDA, rows);
            work = 2.0 * elems;
            body = () -> ce.crossEntropyForward(logits, targets, -100, loss, lse);
        } else {
            Tensor grad = Tensor.empty(DType.BF16, CUDA, rows, classes);
            work = 2.0 * 2 * elems;   // read the logits, write the gradient
            body = () -> ce.crossEntropyFused(logits, targets, -100, 1.0 / rows, loss, grad);
        }
    }

    private void setUpCopy() {
        long n = 1L << 28;   // 1 GiB of F32
        Tensor a = normal(DType.F32, 14, n);
        Tensor b = Tensor.empty(DType.F32, CUDA, n);
        work = 2.0 * n * 4;
        body = () -> device.copyDeviceToDevice(CudaTensors.address(b), CudaTensors.address(a), n * 4, stream);
    }

    @Setup(Level.Iteration)
    public void iteration(IterationParams params) {
        measuring = params.getType() == IterationType.MEASUREMENT;
    }

    @Benchmark
    public float run() {
        start.record(stream);
        for (int i = 0; i < REPS; i++) {
            body.run();
        }
        end.record(stream);
        end.synchronize();
        float ms = end.elapsedMillis(start) / REPS;
        if (measuring) {
            millis.add(ms);
        }
        return ms;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        List<Float> sorted = new ArrayList<>(millis);
        sorted.sort(null);
        float median = sorted.isEmpty() ? Float.NaN : sorted.get(sorted.size() / 2);
        double rate = work / (median * 1e-3);
        System.out.println(String.format(Locale.ROOT, "panomni-bench %s on %s: median %.4f ms over %d runs, %.1f %s",
                kernel, device.name(), median, sorted.size(), flops ? rate / 1e12 : rate / 1e9, flops ? "TFLOP/s" : "GB/s"));
        start.close();
        end.close();
        scope.close();
    }
}
