package dev.panomni.kernels;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.ActivationKernels;
import dev.panomni.tensor.ops.RotaryKernels;
import dev.panomni.tensor.ops.UnaryKernels;
import dev.panomni.tensor.ops.UnaryKernels.UnaryOp;
import dev.panomni.tensor.ops.Views;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static dev.panomni.kernels.CudaTestSupport.CUDA;
import static dev.panomni.kernels.CudaTestSupport.poisoned;
import static dev.panomni.kernels.KernelPairs.Input;
import static dev.panomni.kernels.KernelPairs.assertClose;
import static dev.panomni.kernels.KernelPairs.cpu;
import static dev.panomni.kernels.KernelPairs.gpu;

/** CUDA unary math, SwiGLU and rotary embedding against the CPU backend. */
@Tag("gpu")
class CudaElementwiseGpuTest {
    private static final DType[] FLOATS = {DType.F32, DType.BF16, DType.F16};
    private static final long[] SIZES = {1, 7, 1000, 4099, 65_541};

    @BeforeEach
    void requireGpu() {
        CudaTestSupport.assumeGpu();
    }

    private static boolean positiveDomain(UnaryOp op, double p) {
        return op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT || (op == UnaryOp.POW && p != Math.rint(p));
    }

    @Test
    void unaryForwardAndBackwardEveryOp() {
        long seed = 1;
        for (DType dt : FLOATS) {
            for (UnaryOp op : UnaryOp.values()) {
                double[] exponents = op == UnaryOp.POW ? new double[] {2, 3, 0.5, -1, 1.7, 0, 1, -0.5} : new double[] {0};
                for (double p : exponents) {
                    for (long n : SIZES) {
                        try (Scope s = Scope.open("unary")) {
                            boolean pos = positiveDomain(op, p);
                            Input x = KernelPairs.uniform(dt, seed++, pos ? 0.1 : -3, 3, n);
                            String what = op + " p=" + p + " " + dt + " n=" + n;
                            Tensor yg = poisoned(dt, CUDA, n);
                            Tensor yc = Tensor.empty(DType.F32, Device.CPU, n);
                            gpu(UnaryKernels.class).forward(op, p, x.gpu(), yg);
                            cpu(UnaryKernels.class).forward(op, p, x.cpu(), yc);
                            assertClose(yg, yc, dt, what + " forward");

                            // The backward reads the same saved values on both sides.
                            Input saved = op.backwardReadsOutput()
                                    ? Input.of(CudaTestSupport.toCpu(yg)) : x;
                            Input g = KernelPairs.uniform(dt, seed++, -1, 1, n);
                            Tensor gig = poisoned(dt, CUDA, n);
                            Tensor gic = Tensor.empty(DType.F32, Device.CPU, n);
                            gpu(UnaryKernels.class).backward(op, p, saved.gpu(), g.gpu(), gig);
                            cpu(UnaryKernels.class).backward(op, p, saved.cpu(), g.cpu(), gic);
                            assertClose(gig, gic, dt, what + " backward");
                        }
                    }
                }
            }
        }
    }

    @Test
    void unaryInPlaceAndMisaligned() {
        for (DType dt : FLOATS) {
            try (Scope s = Scope.open("unary views")) {
                Input x = KernelPairs.uniform(dt, 77, -2, 2, 1001);
                // one element in: not 16-byte aligned, the scalar path runs
                Tensor xg = Views.narrow(x.gpu(), 0, 1, 1000);
                Tensor xc = Views.narrow(x.cpu(), 0, 1, 1000).contiguous();
                Tensor yg = Views.narrow(poisoned(dt, CUDA, 1001), 0, 1, 1000);
                Tensor yc = Tensor.empty(DType.F32, Device.CPU, 1000);
                gpu(UnaryKernels.class).forward(UnaryOp.SILU, 0, xg, yg);
                cpu(UnaryKernels.class).forward(UnaryOp.SILU, 0, xc, yc);
                assertClose(yg, yc, dt, "silu misaligned " + dt);
                // in place
                Tensor ig = CudaTestSupport.toGpu(CudaTestSupport.toCpu(x.gpu()));
                gpu(UnaryKernels.class).forward(UnaryOp.TANH, 0, ig, ig);
                Tensor ic = Tensor.empty(DType.F32, Device.CPU, 1001);
                cpu(UnaryKernels.class).forward(UnaryOp.TANH, 0, x.cpu(), ic);
                assertClose(ig, ic, dt, "tanh in place " + dt);
            }
        }
    }

    @Test
    void swigluForwardAndBackward() {
        long seed = 100;
        for (DType dt : FLOATS) {
            for (long n : SIZES) {
                try (Scope s = Scope.open("swiglu")) {
                    Input gate = KernelPairs.uniform(dt, seed++, -4, 4, n);
                    Input up = KernelPairs.uniform(dt, seed++, -2, 2, n);
                    Input dout = KernelPairs.uniform(dt, seed++, -1, 1, n);
                    String what = "swiglu " + dt + " n=" + n;
                    Tensor og = poisoned(dt, CUDA, n);
                    Tensor oc = Tensor.empty(DType.F32, Device.CPU, n);
                    gpu(ActivationKernels.class).swigluForward(gate.gpu(), up.gpu(), og);
                    cpu(ActivationKernels.class).swigluForward(gate.cpu(), up.cpu(), oc);
                    assertClose(og, oc, dt, what + " forward");
                    Tensor dgg = poisoned(dt, CUDA, n);
                    Tensor dug = poisoned(dt, CUDA, n);
                    Tensor dgc = Tensor.empty(DType.F32, Device.CPU, n);
                    Tensor duc = Tensor.empty(DType.F32, Device.CPU, n);
                    gpu(ActivationKernels.class).swigluBackward(dout.gpu(), gate.gpu(), up.gpu(), dgg, dug);
                    cpu(ActivationKernels.class).swigluBackward(dout.cpu(), gate.cpu(), up.cpu(), dgc, duc);
                    assertClose(dgg, dgc, dt, what + " dgate");
                    assertClose(dug, duc, dt, what + " dup");
                    // one output at a time
                    Tensor only = poisoned(dt, CUDA, n);
                    gpu(ActivationKernels.class).swigluBackward(dout.gpu(), gate.gpu(), up.gpu(), null, only);
                    assertClose(only, duc, dt, what + " dup alone");
                    Tensor onlyG = poisoned(dt, CUDA, n);
                    gpu(ActivationKernels.class).swigluBackward(dout.gpu(), gate.gpu(), up.gpu(), onlyG, null);
                    assertClose(onlyG, dgc, dt, what + " dgate alone");
                }
            }
        }
    }

    @Test
    void ropeForwardInverseAndInPlace() {
        long seed = 200;
        int[][] shapes = {{1, 1, 2}, {17, 3, 64}, {33, 5, 128}, {9, 2, 6}, {300, 8, 128}, {5, 2, 1024}};
        for (DType dt : FLOATS) {
            for (DType pt : new DType[] {DType.I64, DType.I32}) {
                for (int[] sh : shapes) {
                    for (boolean inverse : new boolean[] {false, true}) {
                        try (Scope s = Scope.open("rope")) {
                            int n = sh[0];
                            int h = sh[1];
                            int d = sh[2];
                            Input x = KernelPairs.uniform(dt, seed++, -2, 2, n, h, d);
                            Tensor pos = CudaTestSupport.random(pt, seed++, 0, 40_000, n);
                            float[] freq = new float[d / 2];
                            for (int i = 0; i < d / 2; i++) {
                                freq[i] = (float) Math.pow(1_000_000.0, -2.0 * i / d);
                            }
                            Tensor invFreq = Tensor.of(freq, d / 2);
                            String what = "rope " + dt + " " + pt + " " + n + "x" + h + "x" + d + (inverse ? " inverse" : "");
                            Tensor og = poisoned(dt, CUDA, n, h, d);
                            Tensor oc = Tensor.empty(DType.F32, Device.CPU, n, h, d);
                            gpu(RotaryKernels.class).rope(x.gpu(), CudaTestSupport.toGpu(pos),
                                    CudaTestSupport.toGpu(invFreq), inverse, og);
                            cpu(RotaryKernels.class).rope(x.cpu(), pos, invFreq, inverse, oc);
                            assertClose(og, oc, dt, what);
                            gpu(RotaryKernels.class).rope(x.gpu(), CudaTestSupport.toGpu(pos),
                                    CudaTestSupport.toGpu(invFreq), inverse, x.gpu());
                            assertClose(x.gpu(), oc, dt, what + " in place");
                        }
                    }
                }
            }
        }
    }
}
