package dev.panomni.kernels;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.ops.AttentionKernels;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static dev.panomni.kernels.CudaTestSupport.CUDA;
import static dev.panomni.kernels.CudaTestSupport.poisoned;
import static dev.panomni.kernels.CudaTestSupport.toCpu;
import static dev.panomni.kernels.CudaTestSupport.toGpu;
import static dev.panomni.kernels.KernelPairs.Input;
import static dev.panomni.kernels.KernelPairs.cpu;
import static dev.panomni.kernels.KernelPairs.gpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CUDA attention (tensor-core kernels for BF16/F16 with D = 64 and 128, simple kernels otherwise)
 * against the CPU flash attention: packed variable-length documents (empty ones included),
 * grouped-query heads, causal and bidirectional, forward and backward.
 */
@Tag("gpu")
class CudaAttentionGpuTest {
    @BeforeEach
    void requireGpu() {
        CudaTestSupport.assumeGpu();
    }

    /** One problem: T tokens, heads, head dim, documents (null: one), causal. */
    private record Case(int t, int hq, int hkv, int d, int[] cu, boolean causal, double scale) {
        @Override
        public String toString() {
            return "T=" + t + " Hq=" + hq + " Hkv=" + hkv + " D=" + d + " cu=" + Arrays.toString(cu)
                    + (causal ? " causal" : " bidirectional") + " scale=" + scale;
        }
    }

    private static final Case[] CASES = {
        new Case(300, 4, 2, 64, new int[] {0, 37, 37, 150, 300}, true, Double.NaN),
        new Case(300, 4, 2, 64, new int[] {0, 37, 37, 150, 300}, false, Double.NaN),
        new Case(257, 8, 2, 128, null, true, Double.NaN),
        new Case(1000, 4, 1, 128, new int[] {0, 1, 129, 500, 1000}, true, Double.NaN),
        new Case(1000, 4, 1, 128, new int[] {0, 1, 129, 500, 1000}, false, 0.3),
        new Case(200, 3, 3, 64, null, false, Double.NaN),
        new Case(2048, 2, 2, 128, new int[] {0, 700, 2048}, true, Double.NaN),
        new Case(96, 4, 2, 32, new int[] {0, 50, 96}, true, Double.NaN),
        new Case(70, 2, 1, 80, null, false, Double.NaN),
    };

    private static Tensor cuOn(Device device, int[] cu) {
        if (cu == null) {
            return null;
        }
        Tensor host = Tensor.ofInts(cu, cu.length);
        return device.equals(Device.CPU) ? host : toGpu(host);
    }

    private static double tol(DType dt) {
        return dt == DType.F32 ? 1e-5 : 2e-2;
    }

    @Test
    void forwardAndBackwardMatchTheCpu() {
        long seed = 1;
        for (DType dt : new DType[] {DType.BF16, DType.F16, DType.F32}) {
            for (Case c : CASES) {
                try (Scope s = Scope.open("sdpa")) {
                    String what = "sdpa " + dt + " " + c;
                    float scale = (float) (Double.isNaN(c.scale) ? 1.0 / Math.sqrt(c.d) : c.scale);
                    Input q = KernelPairs.normal(dt, seed++, c.t, c.hq, c.d);
                    Input k = KernelPairs.normal(dt, seed++, c.t, c.hkv, c.d);
                    Input v = KernelPairs.normal(dt, seed++, c.t, c.hkv, c.d);
                    Tensor cuG = cuOn(CUDA, c.cu);
                    Tensor cuC = cuOn(Device.CPU, c.cu);

                    Tensor og = poisoned(dt, CUDA, c.t, c.hq, c.d);
                    Tensor lg = poisoned(DType.F32, CUDA, c.hq, c.t);
                    Tensor oc = Tensor.empty(DType.F32, Device.CPU, c.t, c.hq, c.d);
                    Tensor lc = Tensor.empty(DType.F32, Device.CPU, c.hq, c.t);
                    gpu(AttentionKernels.class).forward(q.gpu(), k.gpu(), v.gpu(), cuG, c.causal, scale, og, lg);
                    cpu(AttentionKernels.class).forward(q.cpu(), k.cpu(), v.cpu(), cuC, c.causal, scale, oc, lc);
                    CudaTestSupport.assertClose(KernelPairs.back(og), oc, tol(dt), what + " out");
                    CudaTestSupport.assertClose(KernelPairs.back(lg), lc, dt == DType.F32 ? 1e-5 : 1e-3, what + " lse");
                    // without lse (inference)
                    Tensor og2 = poisoned(dt, CUDA, c.t, c.hq, c.d);
                    gpu(AttentionKernels.class).forward(q.gpu(), k.gpu(), v.gpu(), cuG, c.causal, scale, og2, null);
                    assertArrayEquals(og.toFloatArray(), og2.toFloatArray(), what + " out without lse");

                    // The backward on both sides reads the GPU's out and lse.
                    Input out = Input.of(toCpu(og));
                    Tensor lse = toCpu(lg);
                    Input dout = KernelPairs.normal(dt, seed++, c.t, c.hq, c.d);
                    Tensor dqg = poisoned(dt, CUDA, c.t, c.hq, c.d);
                    Tensor dkg = poisoned(dt, CUDA, c.t, c.hkv, c.d);
                    Tensor dvg = poisoned(dt, CUDA, c.t, c.hkv, c.d);
                    Tensor dqc = Tensor.empty(DType.F32, Device.CPU, c.t, c.hq, c.d);
                    Tensor dkc = Tensor.empty(DType.F32, Device.CPU, c.t, c.hkv, c.d);
                    Tensor dvc = Tensor.empty(DType.F32, Device.CPU, c.t, c.hkv, c.d);
                    gpu(AttentionKernels.class).backward(dout.gpu(), q.gpu(), k.gpu(), v.gpu(), out.gpu(), lg, cuG,
                            c.causal, scale, dqg, dkg, dvg);
                    cpu(AttentionKernels.class).backward(dout.cpu(), q.cpu(), k.cpu(), v.cpu(), out.cpu(), lse, cuC,
                            c.causal, scale, dqc, dkc, dvc);
                    CudaTestSupport.assertClose(KernelPairs.back(dqg), dqc, tol(dt), what + " dq");
                    CudaTestSupport.assertClose(KernelPairs.back(dkg), dkc, tol(dt), what + " dk");
                    CudaTestSupport.assertClose(KernelPairs.back(dvg), dvc, tol(dt), what + " dv");

                    // Deterministic, and each gradient alone equals the joint one.
                    Tensor dk2 = poisoned(dt, CUDA, c.t, c.hkv, c.d);
                    Tensor dq2 = poisoned(dt, CUDA, c.t, c.hq, c.d);
                    gpu(AttentionKernels.class).backward(dout.gpu(), q.gpu(), k.gpu(), v.gpu(), out.gpu(), lg, cuG,
                            c.causal, scale, null, dk2, null);
                    gpu(AttentionKernels.class).backward(dout.gpu(), q.gpu(), k.gpu(), v.gpu(), out.gpu(), lg, cuG,
                            c.causal, scale, dq2, null, null);
                    assertArrayEquals(dkg.toFloatArray(), dk2.toFloatArray(), what + " dk run to run");
                    assertArrayEquals(dqg.toFloatArray(), dq2.toFloatArray(), what + " dq run to run");
                }
            }
        }
    }

    @Test
    void malformedCuSeqlensThrows() {
        Tensor q = toGpu(CudaTestSupport.normal(DType.BF16, 1, 10, 2, 64));
        Tensor k = toGpu(CudaTestSupport.normal(DType.BF16, 2, 10, 2, 64));
        for (int[] cu : new int[][] {{0, 6, 4, 10}, {1, 10}, {0, 5, 9}}) {
            Tensor out = poisoned(DType.BF16, CUDA, 10, 2, 64);
            TensorOpException e = assertThrows(TensorOpException.class, () -> gpu(AttentionKernels.class)
                    .forward(q, k, k, toGpu(Tensor.ofInts(cu, cu.length)), true, 0.125f, out, null));
            assertTrue(e.getMessage().contains("sdpa") && e.getMessage().contains("cuSeqlens"), e.getMessage());
        }
    }
}
