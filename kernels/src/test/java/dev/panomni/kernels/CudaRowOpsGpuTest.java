package dev.panomni.kernels;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.LossKernels;
import dev.panomni.tensor.ops.NormKernels;
import dev.panomni.tensor.ops.SoftmaxKernels;
import dev.panomni.tensor.ops.Views;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static dev.panomni.kernels.CudaTestSupport.CUDA;
import static dev.panomni.kernels.CudaTestSupport.poisoned;
import static dev.panomni.kernels.KernelPairs.Input;
import static dev.panomni.kernels.KernelPairs.assertClose;
import static dev.panomni.kernels.KernelPairs.cpu;
import static dev.panomni.kernels.KernelPairs.gpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** CUDA softmax, cross-entropy, RMSNorm and LayerNorm against the CPU backend. */
@Tag("gpu")
class CudaRowOpsGpuTest {
    private static final DType[] FLOATS = {DType.F32, DType.BF16, DType.F16};
    /** {rows, row length}: vector and element paths, warp groups and whole-block rows. */
    private static final long[][] ROWS = {{1, 1}, {3, 5}, {64, 8}, {37, 128}, {5, 1000}, {7, 4096}, {3, 33_333},
        {2, 151_936}, {300, 64}};

    @BeforeEach
    void requireGpu() {
        CudaTestSupport.assumeGpu();
    }

    private static F32 f32(long... shape) {
        return new F32(Tensor.empty(DType.F32, Device.CPU, shape));
    }

    private record F32(Tensor t) {
    }

    @Test
    void softmaxAndLogSoftmaxForwardBackward() {
        long seed = 1;
        for (DType dt : FLOATS) {
            for (long[] rc : ROWS) {
                for (boolean log : new boolean[] {false, true}) {
                    try (Scope s = Scope.open("softmax")) {
                        long r = rc[0];
                        long n = rc[1];
                        String what = (log ? "logSoftmax " : "softmax ") + dt + " " + r + "x" + n;
                        Input x = KernelPairs.uniform(dt, seed++, -8, 8, r, n);
                        Tensor yg = poisoned(dt, CUDA, r, n);
                        Tensor yc = f32(r, n).t();
                        gpu(SoftmaxKernels.class).forward(x.gpu(), log, yg);
                        cpu(SoftmaxKernels.class).forward(x.cpu(), log, yc);
                        assertClose(yg, yc, dt, what + " forward");
                        Input y = Input.of(CudaTestSupport.toCpu(yg));
                        Input g = KernelPairs.uniform(dt, seed++, -1, 1, r, n);
                        Tensor gig = poisoned(dt, CUDA, r, n);
                        Tensor gic = f32(r, n).t();
                        gpu(SoftmaxKernels.class).backward(y.gpu(), g.gpu(), log, gig);
                        cpu(SoftmaxKernels.class).backward(y.cpu(), g.cpu(), log, gic);
                        assertClose(gig, gic, dt, what + " backward");
                        // in place: y = x
                        gpu(SoftmaxKernels.class).forward(x.gpu(), log, x.gpu());
                        assertClose(x.gpu(), yc, dt, what + " in place");
                    }
                }
            }
        }
    }

    private static Tensor targets(DType it, long seed, long rows, long classes, long ignore, double ignoredShare) {
        SplittableRandom rnd = new SplittableRandom(seed);
        long[] t = new long[(int) rows];
        for (int i = 0; i < rows; i++) {
            t[i] = rnd.nextDouble() < ignoredShare ? ignore : rnd.nextLong(classes);
        }
        Tensor l = Tensor.ofLongs(t, rows);
        return it == DType.I64 ? l : l.to(DType.I32);
    }

    @Test
    void crossEntropyForwardBackwardFused() {
        long seed = 1000;
        long ignore = -100;
        for (DType dt : FLOATS) {
            for (DType it : new DType[] {DType.I64, DType.I32}) {
                for (long[] rc : new long[][] {{1, 2}, {37, 5}, {64, 1000}, {9, 32_768}, {3, 151_936}, {257, 129}}) {
                    try (Scope s = Scope.open("ce")) {
                        long r = rc[0];
                        long c = rc[1];
                        String what = "crossEntropy " + dt + " " + it + " " + r + "x" + c;
                        Input x = KernelPairs.uniform(dt, seed++, -6, 6, r, c);
                        Tensor tc = targets(it, seed++, r, c, ignore, 0.2);
                        Tensor tg = CudaTestSupport.toGpu(tc);

                        LossKernels.TargetCheck chkG = gpu(LossKernels.class).checkTargets(tg, c, ignore);
                        LossKernels.TargetCheck chkC = cpu(LossKernels.class).checkTargets(tc, c, ignore);
                        assertEquals(chkC, chkG, what + " checkTargets");

                        Tensor lossG = poisoned(DType.F32, CUDA, r);
                        Tensor lseG = poisoned(DType.F32, CUDA, r);
                        Tensor lossC = f32(r).t();
                        Tensor lseC = f32(r).t();
                        gpu(LossKernels.class).crossEntropyForward(x.gpu(), tg, ignore, lossG, lseG);
                        cpu(LossKernels.class).crossEntropyForward(x.cpu(), tc, ignore, lossC, lseC);
                        CudaTestSupport.assertClose(KernelPairs.back(lossG), lossC, 1e-5, what + " loss");
                        CudaTestSupport.assertClose(KernelPairs.back(lseG), lseC, 1e-5, what + " lse");

                        Input up = Input.of(CudaTestSupport.random(dt, seed++, 0.5, 2, 1));
                        double scale = 1.0 / Math.max(1, chkC.counted());
                        Tensor gG = poisoned(dt, CUDA, r, c);
                        Tensor gC = f32(r, c).t();
                        gpu(LossKernels.class).crossEntropyBackward(x.gpu(), tg, ignore, lseG, up.gpu(), scale, gG);
                        cpu(LossKernels.class).crossEntropyBackward(x.cpu(), tc, ignore, lseC, up.cpu(), scale, gC);
                        assertClose(gG, gC, dt, what + " backward");

                        Tensor fLossG = poisoned(DType.F32, CUDA, r);
                        Tensor fGradG = poisoned(dt, CUDA, r, c);
                        Tensor fLossC = f32(r).t();
                        Tensor fGradC = f32(r, c).t();
                        gpu(LossKernels.class).crossEntropyFused(x.gpu(), tg, ignore, scale, fLossG, fGradG);
                        cpu(LossKernels.class).crossEntropyFused(x.cpu(), tc, ignore, scale, fLossC, fGradC);
                        CudaTestSupport.assertClose(KernelPairs.back(fLossG), fLossC, 1e-5, what + " fused loss");
                        assertClose(fGradG, fGradC, dt, what + " fused gradient");
                        // in place: the gradient overwrites the logits
                        Tensor inLoss = poisoned(DType.F32, CUDA, r);
                        gpu(LossKernels.class).crossEntropyFused(x.gpu(), tg, ignore, scale, inLoss, x.gpu());
                        CudaTestSupport.assertClose(KernelPairs.back(inLoss), fLossC, 1e-5, what + " fused in place loss");
                        assertClose(x.gpu(), fGradC, dt, what + " fused in place gradient");
                    }
                }
            }
        }
    }

    @Test
    void checkTargetsFindsTheFirstInvalid() {
        long[] t = {3, -100, 7, 12, 2, -5, 1};
        Tensor tc = Tensor.ofLongs(t, t.length);
        for (DType it : new DType[] {DType.I64, DType.I32}) {
            Tensor host = it == DType.I64 ? tc : tc.to(DType.I32);
            LossKernels.TargetCheck g = gpu(LossKernels.class).checkTargets(CudaTestSupport.toGpu(host), 10, -100);
            LossKernels.TargetCheck c = cpu(LossKernels.class).checkTargets(host, 10, -100);
            assertEquals(c, g, "checkTargets " + it);
            assertEquals(3, g.firstInvalid());
            assertEquals(2, g.counted());
        }
    }

    /** {rows, D}: cached rows (warp groups, block groups), loose rows (odd D, huge D). */
    private static final long[][] NORM_ROWS = {{1, 8}, {5, 37}, {64, 128}, {33, 1024}, {7, 4096}, {3, 8192},
        {2, 20_000}, {1000, 64}, {129, 2048}, {4, 65_536}};

    @Test
    void rmsNormForwardBackward() {
        long seed = 2000;
        for (DType dt : FLOATS) {
            for (long[] rd : NORM_ROWS) {
                try (Scope s = Scope.open("rmsNorm")) {
                    long r = rd[0];
                    long d = rd[1];
                    String what = "rmsNorm " + dt + " " + r + "x" + d;
                    Input x = KernelPairs.uniform(dt, seed++, -3, 3, r, d);
                    Input w = KernelPairs.uniform(dt, seed++, 0.5, 1.5, d);
                    Tensor yg = poisoned(dt, CUDA, r, d);
                    Tensor rg = poisoned(DType.F32, CUDA, r);
                    Tensor yc = f32(r, d).t();
                    Tensor rc = f32(r).t();
                    gpu(NormKernels.class).rmsNormForward(x.gpu(), w.gpu(), 1e-6f, yg, rg);
                    cpu(NormKernels.class).rmsNormForward(x.cpu(), w.cpu(), 1e-6f, yc, rc);
                    assertClose(yg, yc, dt, what + " y");
                    CudaTestSupport.assertClose(KernelPairs.back(rg), rc, 1e-5, what + " rstd");

                    Input dy = KernelPairs.uniform(dt, seed++, -1, 1, r, d);
                    Tensor dxg = poisoned(dt, CUDA, r, d);
                    Tensor dwg = poisoned(DType.F32, CUDA, d);
                    Tensor dxc = f32(r, d).t();
                    Tensor dwc = f32(d).t();
                    // The backward reads the CPU's rstd on both sides.
                    Tensor rstd = CudaTestSupport.toGpu(rc);
                    gpu(NormKernels.class).rmsNormBackward(dy.gpu(), x.gpu(), w.gpu(), rstd, dxg, dwg);
                    cpu(NormKernels.class).rmsNormBackward(dy.cpu(), x.cpu(), w.cpu(), rc, dxc, dwc);
                    assertClose(dxg, dxc, dt, what + " dx");
                    CudaTestSupport.assertClose(KernelPairs.back(dwg), dwc, 1e-4, what + " dweight");
                    // dweight alone, twice: the same bits (deterministic reduction)
                    Tensor dw1 = poisoned(DType.F32, CUDA, d);
                    Tensor dw2 = poisoned(DType.F32, CUDA, d);
                    gpu(NormKernels.class).rmsNormBackward(dy.gpu(), x.gpu(), w.gpu(), rstd, null, dw1);
                    gpu(NormKernels.class).rmsNormBackward(dy.gpu(), x.gpu(), w.gpu(), rstd, null, dw2);
                    assertArrayEquals(dw1.toFloatArray(), dw2.toFloatArray(), what + " dweight run to run");
                    assertArrayEquals(dwg.toFloatArray(), dw1.toFloatArray(), what + " dweight with and without dx");
                }
            }
        }
    }

    @Test
    void layerNormForwardBackward() {
        long seed = 3000;
        for (DType dt : FLOATS) {
            for (long[] rd : NORM_ROWS) {
                for (boolean withBias : new boolean[] {true, false}) {
                    try (Scope s = Scope.open("layerNorm")) {
                        long r = rd[0];
                        long d = rd[1];
                        String what = "layerNorm " + dt + " " + r + "x" + d + (withBias ? " bias" : "");
                        Input x = KernelPairs.uniform(dt, seed++, 1, 5, r, d);   // offset mean: centering matters
                        Input w = KernelPairs.uniform(dt, seed++, 0.5, 1.5, d);
                        Input b = withBias ? KernelPairs.uniform(dt, seed++, -1, 1, d) : null;
                        Tensor yg = poisoned(dt, CUDA, r, d);
                        Tensor mg = poisoned(DType.F32, CUDA, r);
                        Tensor rg = poisoned(DType.F32, CUDA, r);
                        Tensor yc = f32(r, d).t();
                        Tensor mc = f32(r).t();
                        Tensor rc = f32(r).t();
                        gpu(NormKernels.class).layerNormForward(x.gpu(), w.gpu(), b == null ? null : b.gpu(), 1e-5f, yg,
                                mg, rg);
                        cpu(NormKernels.class).layerNormForward(x.cpu(), w.cpu(), b == null ? null : b.cpu(), 1e-5f, yc,
                                mc, rc);
                        assertClose(yg, yc, dt, what + " y");
                        CudaTestSupport.assertClose(KernelPairs.back(mg), mc, 1e-5, what + " mean");
                        CudaTestSupport.assertClose(KernelPairs.back(rg), rc, 1e-4, what + " rstd");

                        Input dy = KernelPairs.uniform(dt, seed++, -1, 1, r, d);
                        Tensor dxg = poisoned(dt, CUDA, r, d);
                        Tensor dwg = poisoned(DType.F32, CUDA, d);
                        Tensor dbg = poisoned(DType.F32, CUDA, d);
                        Tensor dxc = f32(r, d).t();
                        Tensor dwc = f32(d).t();
                        Tensor dbc = f32(d).t();
                        Tensor mean = CudaTestSupport.toGpu(mc);
                        Tensor rstd = CudaTestSupport.toGpu(rc);
                        gpu(NormKernels.class).layerNormBackward(dy.gpu(), x.gpu(), w.gpu(), mean, rstd, dxg, dwg, dbg);
                        cpu(NormKernels.class).layerNormBackward(dy.cpu(), x.cpu(), w.cpu(), mc, rc, dxc, dwc, dbc);
                        assertClose(dxg, dxc, dt, what + " dx");
                        CudaTestSupport.assertClose(KernelPairs.back(dwg), dwc, 1e-4, what + " dweight");
                        CudaTestSupport.assertClose(KernelPairs.back(dbg), dbc, 1e-4, what + " dbias");
                    }
                }
            }
        }
    }

    @Test
    void normsOnMisalignedRowsTakeTheLoosePath() {
        for (DType dt : new DType[] {DType.F32, DType.BF16}) {
            try (Scope s = Scope.open("norm views")) {
                long r = 9;
                long d = 256;
                Input all = KernelPairs.uniform(dt, 5, -2, 2, r * d + 1);
                Tensor xg = Views.narrow(all.gpu(), 0, 1, r * d).view(r, d);
                Tensor xc = Views.narrow(all.cpu(), 0, 1, r * d).contiguous().view(r, d);
                Input w = KernelPairs.uniform(dt, 6, 0.5, 1.5, d);
                Tensor yg = poisoned(dt, CUDA, r, d);
                Tensor yc = f32(r, d).t();
                gpu(NormKernels.class).rmsNormForward(xg, w.gpu(), 1e-6f, yg, null);
                cpu(NormKernels.class).rmsNormForward(xc, w.cpu(), 1e-6f, yc, null);
                assertClose(yg, yc, dt, "rmsNorm misaligned " + dt + " " + Arrays.toString(xg.shape()));
            }
        }
    }
}
