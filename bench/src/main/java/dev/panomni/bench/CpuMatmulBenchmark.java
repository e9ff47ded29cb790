package dev.panomni.bench;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.LinalgKernels;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * FP32 matrix multiply on the CPU backend through {@link LinalgKernels#gemm}, into a preallocated
 * output (what a BLAS benchmark measures; {@code Linalg.matmul} adds one output allocation).
 *
 * <p>Each invocation is counted as its number of MFLOPs (2 M N K / 10^6, rounded, at most 0.03%
 * off), so JMH's throughput score in ops/ms reads directly as GFLOP/s.
 *
 * <pre>
 * ./mvnw -q -pl bench -am package -DskipTests
 * java -jar bench/target/benchmarks.jar CpuMatmulBenchmark
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class CpuMatmulBenchmark {
    /** 2 * 1024^3 / 10^6. */
    private static final int MFLOP_1024 = 2147;
    /** 2 * 4096 * 4096 * 1024 / 10^6. */
    private static final int MFLOP_4096_4096_1024 = 34360;

    /** Operands of one product shape, allocated once per trial. */
    @State(org.openjdk.jmh.annotations.Scope.Benchmark)
    public abstract static class Operands {
        Scope scope;
        LinalgKernels kernels;
        Tensor a;
        Tensor b;
        Tensor out;

        abstract int m();

        abstract int n();

        abstract int k();

        /** Whether b is read as the transpose of a stored [N, K] matrix (a linear layer's weight). */
        boolean transposedB() {
            return false;
        }

        @Setup(Level.Trial)
        public void setUp() {
            // Detached: JMH may run setup and teardown on different threads.
            scope = Scope.detached("bench");
            Random rng = new Random(42);
            a = Tensor.of(uniform(rng, m() * k()), 1, m(), k()).moveTo(scope);
            if (transposedB()) {
                Tensor stored = Tensor.of(uniform(rng, n() * k()), 1, n(), k()).moveTo(scope);
                b = stored.transpose(1, 2).moveTo(scope);
            } else {
                b = Tensor.of(uniform(rng, k() * n()), 1, k(), n()).moveTo(scope);
            }
            out = Tensor.empty(1, m(), n()).moveTo(scope);
            kernels = a.backend().kernels(LinalgKernels.class);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            scope.close();
        }

        private static float[] uniform(Random rng, int count) {
            float[] v = new float[count];
            for (int i = 0; i < count; i++) {
                v[i] = rng.nextFloat() * 2f - 1f;
            }
            return v;
        }

        void run() {
            kernels.gemm(a, b, out, 1f, 0f);
        }
    }

    /** 1024 x 1024 x 1024, both operands row-major. */
    public static class Square1024 extends Operands {
        @Override
        int m() {
            return 1024;
        }

        @Override
        int n() {
            return 1024;
        }

        @Override
        int k() {
            return 1024;
        }
    }

    /** 1024 x 1024 x 1024 with b a transposed view, as {@code linear} reads its weight. */
    public static class Square1024TransposedB extends Square1024 {
        @Override
        boolean transposedB() {
            return true;
        }
    }

    /** M = N = 4096, K = 1024. */
    public static class Wide4096 extends Operands {
        @Override
        int m() {
            return 4096;
        }

        @Override
        int n() {
            return 4096;
        }

        @Override
        int k() {
            return 1024;
        }
    }

    @Benchmark
    @OperationsPerInvocation(MFLOP_1024)
    public Tensor sgemm1024(Square1024 s) {
        s.run();
        return s.out;
    }

    @Benchmark
    @OperationsPerInvocation(MFLOP_1024)
    public Tensor sgemm1024TransposedB(Square1024TransposedB s) {
        s.run();
        return s.out;
    }

    @Benchmark
    @OperationsPerInvocation(MFLOP_4096_4096_1024)
    public Tensor sgemm4096x4096x1024(Wide4096 s) {
        s.run();
        return s.out;
    }
}
