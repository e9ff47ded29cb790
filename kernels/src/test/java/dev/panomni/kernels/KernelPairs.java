package dev.panomni.kernels;

import dev.panomni.tensor.Backends;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Layout;

import static dev.panomni.kernels.CudaTestSupport.CUDA;
import static dev.panomni.kernels.CudaTestSupport.toCpu;
import static dev.panomni.kernels.CudaTestSupport.toGpu;

/**
 * The two sides of a GPU kernel test: the CUDA family under test and the CPU family it is checked
 * against. CPU math kernels take F32, so the reference runs on the F32 widening of exactly the
 * values (already rounded to the test dtype) that the GPU kernel reads.
 */
final class KernelPairs {
    private KernelPairs() {
    }

    static <K> K gpu(Class<K> family) {
        return Backends.forDevice(CUDA).kernels(family);
    }

    static <K> K cpu(Class<K> family) {
        return Backends.forDevice(Device.CPU).kernels(family);
    }

    /** One input: {@code host} (rounded to its dtype) on the GPU and as F32 on the host. */
    record Input(Tensor gpu, Tensor cpu) {
        static Input of(Tensor host) {
            return new Input(toGpu(host), f32(host));
        }
    }

    /** The F32 widening of a host tensor (a copy). */
    static Tensor f32(Tensor host) {
        return GradMode.noGrad(() -> Layout.cast(host, DType.F32).contiguous());
    }

    /** A GPU result as F32 on the host. */
    static Tensor back(Tensor gpu) {
        return f32(toCpu(gpu));
    }

    /** Uniform input in [lo, hi) of dtype dt. */
    static Input uniform(DType dt, long seed, double lo, double hi, long... shape) {
        return Input.of(CudaTestSupport.random(dt, seed, lo, hi, shape));
    }

    /** Standard normal input of dtype dt. */
    static Input normal(DType dt, long seed, long... shape) {
        return Input.of(CudaTestSupport.normal(dt, seed, shape));
    }

    /**
     * Fails unless the GPU result is within the dtype's tolerance of the CPU one. The CPU's F32 result
     * is first rounded to the GPU output's dtype, as the CPU front end narrows it: a value beyond the
     * dtype's range (65504 for F16) is infinite on both sides, and matching infinities count as equal.
     */
    static void assertClose(Tensor gpuOut, Tensor cpuOut, DType dt, String what) {
        Tensor ref = cpuOut;
        if (gpuOut.dtype().isFloating() && gpuOut.dtype() != DType.F32 && cpuOut.dtype() == DType.F32) {
            DType narrow = gpuOut.dtype();
            ref = GradMode.noGrad(() -> Layout.cast(Layout.cast(cpuOut, narrow), DType.F32).contiguous());
        }
        CudaTestSupport.assertClose(back(gpuOut), ref, dt, what);
    }
}
