package dev.panomni.kernels;

import dev.panomni.tensor.Backends;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.LayoutKernels;
import dev.panomni.tensor.ops.Views;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.function.UnaryOperator;

import static dev.panomni.kernels.CudaTestSupport.CUDA;
import static dev.panomni.kernels.CudaTestSupport.poisoned;
import static dev.panomni.kernels.CudaTestSupport.random;
import static dev.panomni.kernels.CudaTestSupport.toCpu;
import static dev.panomni.kernels.CudaTestSupport.toGpu;

/** CUDA fill and converting strided copy against the CPU backend, on every dtype pair and several layouts. */
@Tag("gpu")
class CudaLayoutGpuTest {
    private static final DType[] ALL = DType.values();

    @BeforeEach
    void gpu() {
        CudaTestSupport.assumeGpu();
    }

    private static LayoutKernels gpuKernels() {
        return Backends.forDevice(CUDA).kernels(LayoutKernels.class);
    }

    private static LayoutKernels cpuKernels() {
        return Backends.forDevice(Device.CPU).kernels(LayoutKernels.class);
    }

    private static Tensor randomOf(DType dt, long seed, long... shape) {
        return switch (dt) {
            case U8 -> random(dt, seed, 0, 200, shape);
            case BOOL -> random(dt, seed, 0, 2, shape);
            default -> random(dt, seed, -50, 50, shape);
        };
    }

    private static void compare(Tensor gpuOut, Tensor cpuOut, String what) {
        Tensor back = toCpu(gpuOut);
        if (cpuOut.dtype().isFloating()) {
            // Copies and fills are exact: the same rounding on both backends.
            CudaTestSupport.assertClose(back, cpuOut, 0.0, what);
        } else {
            CudaTestSupport.assertSameLongs(back, cpuOut, what);
        }
    }

    @Test
    void fillEveryDtypeContiguousAndStrided() {
        double[] values = {0.0, -0.0, 3.75, -2.0, 1.0 / 3.0, 200.0};
        for (DType dt : ALL) {
            for (double v : values) {
                try (Scope s = Scope.open("fill")) {
                    Tensor g = poisoned(dt, CUDA, 37, 13);
                    Tensor c = poisoned(dt, Device.CPU, 37, 13);
                    gpuKernels().fill(g, v);
                    cpuKernels().fill(c, v);
                    compare(g, c, "fill " + dt + " " + v + " contiguous");
                    // a transposed, narrowed view: only its elements change
                    Tensor gv = Views.narrow(Views.transpose(g, 0, 1), 1, 3, 30);
                    Tensor cv = Views.narrow(Views.transpose(c, 0, 1), 1, 3, 30);
                    gpuKernels().fill(gv, v + 1);
                    cpuKernels().fill(cv, v + 1);
                    compare(g, c, "fill " + dt + " " + (v + 1) + " strided view");
                }
            }
        }
    }

    @Test
    void copyConvertsEveryDtypePairThroughSeveralLayouts() {
        record Layout(String name, long[] shape, UnaryOperator<Tensor> view) {
        }
        Layout[] layouts = {
            new Layout("contiguous", new long[] {5, 7, 9}, t -> t),
            new Layout("transposed", new long[] {9, 7, 5}, t -> Views.permute(t, 2, 0, 1)),
            new Layout("broadcast", new long[] {5, 1, 9}, t -> Views.expand(t, 5, 6, 9)),
            new Layout("stepped", new long[] {11, 7}, t -> Views.slice(t, 0, 1, 11, 3)),
        };
        long seed = 10;
        for (DType from : ALL) {
            for (DType to : ALL) {
                for (Layout l : layouts) {
                    try (Scope s = Scope.open("copy")) {
                        Tensor srcCpu = l.view().apply(randomOf(from, seed++, l.shape()));
                        Tensor srcGpu = l.view().apply(toGpu(randomOf(from, seed - 1, l.shape())));
                        Tensor outCpu = poisoned(to, Device.CPU, srcCpu.shape());
                        Tensor outGpu = poisoned(to, CUDA, srcCpu.shape());
                        cpuKernels().copy(srcCpu, outCpu);
                        gpuKernels().copy(srcGpu, outGpu);
                        compare(outGpu, outCpu, "copy " + from + " -> " + to + " " + l.name());
                        // into a transposed destination as well
                        Tensor dstG = poisoned(to, CUDA, reversed(srcCpu.shape()));
                        Tensor dstC = poisoned(to, Device.CPU, reversed(srcCpu.shape()));
                        gpuKernels().copy(srcGpu, reverseView(dstG));
                        cpuKernels().copy(srcCpu, reverseView(dstC));
                        compare(dstG, dstC, "copy " + from + " -> " + to + " " + l.name() + " into a transposed view");
                    }
                }
            }
        }
    }

    @Test
    void castFastPathsWithOddSizesAndMisalignedViews() {
        for (long n : new long[] {1, 3, 4, 5, 1023, 4097, 3_000_001}) {
            try (Scope s = Scope.open("cast")) {
                Tensor f = random(DType.F32, n, -1e3, 1e3, n);
                Tensor g = toGpu(f);
                Tensor bGpu = poisoned(DType.BF16, CUDA, n);
                Tensor bCpu = poisoned(DType.BF16, Device.CPU, n);
                gpuKernels().copy(g, bGpu);
                cpuKernels().copy(f, bCpu);
                compare(bGpu, bCpu, "F32->BF16 n=" + n);
                Tensor backGpu = poisoned(DType.F32, CUDA, n);
                Tensor backCpu = poisoned(DType.F32, Device.CPU, n);
                gpuKernels().copy(bGpu, backGpu);
                cpuKernels().copy(bCpu, backCpu);
                compare(backGpu, backCpu, "BF16->F32 n=" + n);
                if (n > 2) {
                    // offset by one element: not 16-byte aligned, the strided kernel takes over
                    Tensor gv = Views.narrow(g, 0, 1, n - 1);
                    Tensor cv = Views.narrow(f, 0, 1, n - 1);
                    Tensor o1 = poisoned(DType.BF16, CUDA, n - 1);
                    Tensor o2 = poisoned(DType.BF16, Device.CPU, n - 1);
                    gpuKernels().copy(gv, o1);
                    cpuKernels().copy(cv, o2);
                    compare(o1, o2, "F32->BF16 misaligned n=" + (n - 1));
                }
            }
        }
    }

    @Test
    void sameDtypeContiguousCopyIsExact() {
        for (DType dt : ALL) {
            try (Scope s = Scope.open("memcpy")) {
                Tensor src = randomOf(dt, 99, 1001, 3);
                Tensor out = poisoned(dt, CUDA, 1001, 3);
                gpuKernels().copy(toGpu(src), out);
                compare(out, src, "memcpy " + dt);
            }
        }
    }

    private static long[] reversed(long[] shape) {
        long[] r = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            r[i] = shape[shape.length - 1 - i];
        }
        return r;
    }

    private static Tensor reverseView(Tensor t) {
        int[] dims = new int[t.rank()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = dims.length - 1 - i;
        }
        return Views.permute(t, dims);
    }
}
