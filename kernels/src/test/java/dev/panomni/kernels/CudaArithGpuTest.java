package dev.panomni.kernels;

import dev.panomni.tensor.Backends;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.ArithKernels;
import dev.panomni.tensor.ops.ArithKernels.BinaryOp;
import dev.panomni.tensor.ops.Views;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static dev.panomni.kernels.CudaTestSupport.CUDA;
import static dev.panomni.kernels.CudaTestSupport.poisoned;
import static dev.panomni.kernels.CudaTestSupport.random;
import static dev.panomni.kernels.CudaTestSupport.toCpu;
import static dev.panomni.kernels.CudaTestSupport.toGpu;

/** CUDA broadcasting arithmetic, affine and sumTo against the CPU backend. */
@Tag("gpu")
class CudaArithGpuTest {
    private static final DType[] FLOATS = {DType.F32, DType.BF16, DType.F16};

    @BeforeEach
    void requireGpu() {
        CudaTestSupport.assumeGpu();
    }

    private static ArithKernels gpu() {
        return Backends.forDevice(CUDA).kernels(ArithKernels.class);
    }

    private static ArithKernels cpu() {
        return Backends.forDevice(Device.CPU).kernels(ArithKernels.class);
    }

    private static void check(Tensor gpuOut, Tensor cpuOut, DType dt, String what) {
        if (dt.isFloating()) {
            CudaTestSupport.assertClose(toCpu(gpuOut), cpuOut, dt, what);
        } else {
            CudaTestSupport.assertSameLongs(toCpu(gpuOut), cpuOut, what);
        }
    }

    @Test
    void binaryBroadcastsOverEveryDtypeAndOp() {
        long[][][] cases = {
            {{37, 53}, {37, 53}},          // same shape: the contiguous fast path (tail past the vectors)
            {{64, 48}, {64, 48}},          // same shape, whole vectors only
            {{5, 1, 7}, {1, 6, 7}},        // both broadcast
            {{4097}, {1}},                 // scalar-like b
            {{3, 1}, {3, 129}},            // a broadcast along the last dim
            {{6, 5, 64}, {6, 5, 1}},       // b one value per row: the fast path's row form (whole vectors)
            {{33, 20}, {33, 1}},           // b per row, rows not a whole number of vectors
            {{9, 1}, {9, 32}},             // a per row: commutative ops swap into the row form
        };
        long seed = 1;
        for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16, DType.I32, DType.I64}) {
            for (BinaryOp op : BinaryOp.values()) {
                for (long[][] c : cases) {
                    try (Scope s = Scope.open("binary")) {
                        long[] out = dev.panomni.tensor.Shapes.broadcast("test", c[0], c[1]);
                        // divisors away from zero (integers: 1..9)
                        Tensor a = dt.isFloating() ? random(dt, seed++, -2, 2, c[0]) : random(dt, seed++, -50, 50, c[0]);
                        Tensor b = dt.isFloating() ? random(dt, seed++, 0.5, 2, c[1]) : random(dt, seed++, 1, 10, c[1]);
                        Tensor ga = Views.expand(toGpu(a), out);
                        Tensor gb = Views.expand(toGpu(b), out);
                        Tensor ca = Views.expand(a, out);
                        Tensor cb = Views.expand(b, out);
                        Tensor go = poisoned(dt, CUDA, out);
                        Tensor co = poisoned(dt, Device.CPU, out);
                        gpu().binary(op, ga, gb, go);
                        cpu().binary(op, ca, cb, co);
                        check(go, co, dt, op + " " + dt + " " + java.util.Arrays.deepToString(c));
                    }
                }
            }
        }
    }

    @Test
    void binaryReadsTransposedOperandsAndMayWriteInPlace() {
        try (Scope s = Scope.open("binary")) {
            Tensor a = random(DType.F32, 7, -1, 1, 33, 65);
            Tensor b = random(DType.F32, 8, -1, 1, 65, 33);
            Tensor ga = toGpu(a);
            Tensor gbT = Views.transpose(toGpu(b), 0, 1);
            Tensor co = poisoned(DType.F32, Device.CPU, 33, 65);
            cpu().binary(BinaryOp.MUL, a, Views.transpose(b, 0, 1), co);
            gpu().binary(BinaryOp.MUL, ga, gbT, ga); // out is a
            check(ga, co, DType.F32, "in-place MUL with a transposed operand");
        }
    }

    @Test
    void affineOnFloatsAndIntegers() {
        long seed = 100;
        for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16, DType.I32, DType.I64}) {
            for (long n : new long[] {1, 7, 100_003}) {
                try (Scope s = Scope.open("affine")) {
                    Tensor a = random(dt, seed++, -100, 100, n);
                    Tensor go = poisoned(dt, CUDA, n);
                    Tensor co = poisoned(dt, Device.CPU, n);
                    gpu().affine(toGpu(a), 0.37, -1.25, go);
                    cpu().affine(a, 0.37, -1.25, co);
                    check(go, co, dt, "affine " + dt + " n=" + n);
                }
            }
        }
    }

    @Test
    void sumToUndoesBroadcasts() {
        long[][][] cases = {
            {{6, 7, 9}, {7, 1}},          // keep a middle dim, reduce two
            {{6, 7, 9}, {6, 1, 9}},
            {{6, 7, 9}, {}},              // everything into a scalar (the per-block kernel)
            {{1000, 300}, {300}},         // bias-gradient shape
            {{3, 70_000}, {3, 1}},        // few long rows (per-block kernel)
            {{5, 4}, {5, 4}},             // nothing to reduce
        };
        long seed = 200;
        for (DType dt : FLOATS) {
            for (long[][] c : cases) {
                try (Scope s = Scope.open("sumTo")) {
                    Tensor src = random(dt, seed++, -1, 1, c[0]);
                    Tensor go = poisoned(dt, CUDA, c[1]);
                    Tensor co = poisoned(dt, Device.CPU, c[1]);
                    gpu().sumTo(toGpu(src), go);
                    cpu().sumTo(src, co);
                    check(go, co, dt, "sumTo " + dt + " " + java.util.Arrays.deepToString(c));
                }
            }
        }
    }
}
