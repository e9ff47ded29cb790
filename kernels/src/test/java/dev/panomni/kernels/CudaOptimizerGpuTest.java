package dev.panomni.kernels;

import dev.panomni.tensor.Backends;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.GradNormKernels;
import dev.panomni.tensor.ops.OptimizerKernels;
import dev.panomni.tensor.ops.OptimizerKernels.AdamWHyper;
import dev.panomni.tensor.ops.OptimizerKernels.SgdHyper;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static dev.panomni.kernels.CudaTestSupport.CUDA;
import static dev.panomni.kernels.CudaTestSupport.normal;
import static dev.panomni.kernels.CudaTestSupport.random;
import static dev.panomni.kernels.CudaTestSupport.toCpu;
import static dev.panomni.kernels.CudaTestSupport.toGpu;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Multi-tensor AdamW and SGD, and device gradient norms, against the CPU backend: several steps
 * over tensors of odd sizes (one spanning many chunks, one empty), F32 parameters and BF16
 * parameters with F32 masters.
 */
@Tag("gpu")
class CudaOptimizerGpuTest {
    private static final long[] SIZES = {1, 7, 8193, 100_003, 0, 40_000};

    @BeforeEach
    void requireGpu() {
        CudaTestSupport.assumeGpu();
    }

    private static OptimizerKernels gpu() {
        return Backends.forDevice(CUDA).kernels(OptimizerKernels.class);
    }

    private static OptimizerKernels cpu() {
        return Backends.forDevice(Device.CPU).kernels(OptimizerKernels.class);
    }

    /** Per-parameter state on one device: params, grads, masters, and two F32 state tensors. */
    private record State(Tensor[] params, Tensor[] grads, Tensor[] masters, Tensor[] s1, Tensor[] s2) {
        static State of(DType paramType, long seed, Device device) {
            int n = SIZES.length;
            State st = new State(new Tensor[n], new Tensor[n], new Tensor[n], new Tensor[n], new Tensor[n]);
            for (int i = 0; i < n; i++) {
                Tensor master = normal(DType.F32, seed + i, SIZES[i]);
                Tensor p = paramType == DType.F32 ? master : dev.panomni.tensor.ops.Layout.cast(master, paramType);
                Tensor g = normal(paramType, seed + 100 + i, SIZES[i]);
                Tensor m = random(DType.F32, seed + 200 + i, -0.1, 0.1, SIZES[i]);
                Tensor v = random(DType.F32, seed + 300 + i, 0, 0.01, SIZES[i]);
                boolean gpu = device.type() == Device.Type.CUDA;
                st.params[i] = gpu ? toGpu(p) : p.contiguous();
                st.grads[i] = gpu ? toGpu(g) : g;
                st.masters[i] = paramType == DType.F32 ? null : (gpu ? toGpu(master) : master.contiguous());
                st.s1[i] = gpu ? toGpu(m) : m;
                st.s2[i] = gpu ? toGpu(v) : v;
            }
            return st;
        }
    }

    private static void assertSame(State gpu, State cpu, DType dt, String what) {
        for (int i = 0; i < SIZES.length; i++) {
            if (SIZES[i] == 0) {
                continue;
            }
            CudaTestSupport.assertClose(toCpu(gpu.params[i]), cpu.params[i], dt, what + " param " + i);
            CudaTestSupport.assertClose(toCpu(gpu.s1[i]), cpu.s1[i], DType.F32, what + " state1 " + i);
            CudaTestSupport.assertClose(toCpu(gpu.s2[i]), cpu.s2[i], DType.F32, what + " state2 " + i);
            if (gpu.masters[i] != null) {
                CudaTestSupport.assertClose(toCpu(gpu.masters[i]), cpu.masters[i], DType.F32, what + " master " + i);
            }
        }
    }

    @Test
    void adamwMatchesTheCpuOverSeveralSteps() {
        for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            try (Scope s = Scope.open("adamw")) {
                State g = State.of(dt, 11, CUDA);
                State c = State.of(dt, 11, Device.CPU);
                for (int step = 1; step <= 3; step++) {
                    AdamWHyper[] h = new AdamWHyper[SIZES.length];
                    for (int i = 0; i < h.length; i++) {
                        // per-tensor hyper-parameters differ (no decay on some, as for norms and biases)
                        h[i] = new AdamWHyper(1e-3 * (i + 1), 0.9, 0.95, 1e-8, i % 2 == 0 ? 0.1 : 0.0, step);
                    }
                    gpu().adamwStep(g.params, g.grads, g.s1, g.s2, g.masters, h);
                    cpu().adamwStep(c.params, c.grads, c.s1, c.s2, c.masters, h);
                }
                assertSame(g, c, dt, "AdamW " + dt);
            }
        }
    }

    @Test
    void sgdMatchesTheCpuWithAndWithoutMomentum() {
        for (DType dt : new DType[] {DType.F32, DType.BF16}) {
            for (boolean nesterov : new boolean[] {false, true}) {
                try (Scope s = Scope.open("sgd")) {
                    State g = State.of(dt, 21, CUDA);
                    State c = State.of(dt, 21, Device.CPU);
                    for (int step = 1; step <= 3; step++) {
                        SgdHyper[] h = new SgdHyper[SIZES.length];
                        Tensor[] gb = new Tensor[SIZES.length];
                        Tensor[] cb = new Tensor[SIZES.length];
                        for (int i = 0; i < h.length; i++) {
                            double momentum = i == 1 ? 0.0 : 0.9; // one plain-SGD tensor, no buffer
                            h[i] = new SgdHyper(0.05, momentum, 0.1, 1e-2, nesterov && momentum != 0, step == 1);
                            gb[i] = momentum == 0 ? null : g.s1[i];
                            cb[i] = momentum == 0 ? null : c.s1[i];
                        }
                        gpu().sgdStep(g.params, g.grads, gb, g.masters, h);
                        cpu().sgdStep(c.params, c.grads, cb, c.masters, h);
                    }
                    assertSame(g, c, dt, "SGD " + dt + (nesterov ? " nesterov" : ""));
                }
            }
        }
    }

    @Test
    void gradNormsAndClippingStayOnTheDevice() {
        GradNormKernels gk = Backends.forDevice(CUDA).kernels(GradNormKernels.class);
        GradNormKernels ck = Backends.forDevice(Device.CPU).kernels(GradNormKernels.class);
        for (DType dt : new DType[] {DType.F32, DType.BF16}) {
            try (Scope s = Scope.open("norms")) {
                State g = State.of(dt, 31, CUDA);
                State c = State.of(dt, 31, Device.CPU);
                int n = SIZES.length;
                Tensor gp = CudaTestSupport.poisoned(DType.F32, CUDA, n);
                Tensor cp = Tensor.empty(DType.F32, Device.CPU, n);
                gk.sumOfSquares(g.grads, gp);
                ck.sumOfSquares(c.grads, cp);
                CudaTestSupport.assertClose(toCpu(gp), cp, DType.F32, "sumOfSquares " + dt);
                assertEquals(0f, toCpu(gp).toFloatArray()[4], "the empty tensor's sum is 0");

                Tensor gn = CudaTestSupport.poisoned(DType.F32, CUDA);
                Tensor cn = Tensor.empty(DType.F32, Device.CPU);
                gk.combineNorm(gp, gn);
                ck.combineNorm(cp, cn);
                CudaTestSupport.assertClose(toCpu(gn), cn, DType.F32, "combineNorm " + dt);
                float norm = cn.toFloatArray()[0];
                assertTrue(norm > 10, "norm " + norm);

                // clip to a tenth of the norm: every tensor scales by ~0.1
                gk.scaleToMaxNorm(g.grads, gn, norm / 10, 1e-6);
                ck.scaleToMaxNorm(c.grads, cn, norm / 10, 1e-6);
                for (int i = 0; i < n; i++) {
                    if (SIZES[i] > 0) {
                        CudaTestSupport.assertClose(toCpu(g.grads[i]), c.grads[i], dt, "clipped grad " + i + " " + dt);
                    }
                }
                // a max norm above the norm leaves them alone; so does a NaN norm
                Tensor before = toCpu(g.grads[3]).contiguous();
                gk.scaleToMaxNorm(g.grads, gn, norm * 10, 1e-6);
                dev.panomni.tensor.ops.Layout.fill(gn, Double.NaN);
                gk.scaleToMaxNorm(g.grads, gn, 1e-3, 1e-6);
                CudaTestSupport.assertClose(toCpu(g.grads[3]), before, 0.0, "unchanged when not clipping " + dt);
            }
        }
    }
}
