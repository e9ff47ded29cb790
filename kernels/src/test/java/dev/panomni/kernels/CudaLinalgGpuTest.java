package dev.panomni.kernels;

import dev.panomni.tensor.Backends;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.GroupedGemmKernels;
import dev.panomni.tensor.ops.Layout;
import dev.panomni.tensor.ops.Linalg;
import dev.panomni.tensor.ops.LinalgKernels;
import dev.panomni.tensor.ops.Views;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static dev.panomni.kernels.CudaTestSupport.CUDA;
import static dev.panomni.kernels.CudaTestSupport.normal;
import static dev.panomni.kernels.CudaTestSupport.poisoned;
import static dev.panomni.kernels.CudaTestSupport.toCpu;
import static dev.panomni.kernels.CudaTestSupport.toGpu;

/**
 * cuBLASLt GEMM against the CPU backend's F32 GEMM on the same (widened) inputs: every dtype,
 * transposed operands, strided and broadcast batches, alpha/beta, the bias epilogue, misaligned
 * views, the op front ends, and grouped GEMM with empty groups.
 */
@Tag("gpu")
class CudaLinalgGpuTest {
    private static final DType[] DTYPES = {DType.F32, DType.BF16, DType.F16};

    @BeforeEach
    void requireGpu() {
        CudaTestSupport.assumeCublasLt();
    }

    private static LinalgKernels gpu() {
        return Backends.forDevice(CUDA).kernels(LinalgKernels.class);
    }

    private static LinalgKernels cpu() {
        return Backends.forDevice(Device.CPU).kernels(LinalgKernels.class);
    }

    private static Tensor f32(Tensor t) {
        return GradMode.noGrad(() -> Layout.cast(t, DType.F32));
    }

    /** Operand view: as stored [batch, r, c], or stored [batch, c, r] and transposed. */
    private static Tensor view(Tensor stored, boolean transposed) {
        return transposed ? Views.transpose(stored, 1, 2) : stored;
    }

    @Test
    void gemmMatchesTheCpuForEveryDtypeAndLayout() {
        long[][] shapes = {{1, 37, 53, 29}, {3, 64, 128, 96}, {2, 1, 17, 5}, {1, 257, 1, 33}, {4, 8, 300, 1}};
        long seed = 1;
        for (DType dt : DTYPES) {
            for (long[] sh : shapes) {
                long batch = sh[0];
                long m = sh[1];
                long k = sh[2];
                long n = sh[3];
                for (int layout = 0; layout < 4; layout++) {
                    boolean ta = (layout & 1) != 0;
                    boolean tb = (layout & 2) != 0;
                    try (Scope s = Scope.open("gemm")) {
                        Tensor aStored = normal(dt, seed++, ta ? new long[] {batch, k, m} : new long[] {batch, m, k});
                        Tensor bStored = normal(dt, seed++, tb ? new long[] {batch, n, k} : new long[] {batch, k, n});
                        Tensor ga = view(toGpu(aStored), ta);
                        Tensor gb = view(toGpu(bStored), tb);
                        Tensor go = poisoned(dt, CUDA, batch, m, n);
                        gpu().gemm(ga, gb, go, 1f, 0f);
                        Tensor ref = Tensor.empty(DType.F32, Device.CPU, batch, m, n);
                        cpu().gemm(view(f32(aStored), ta), view(f32(bStored), tb), ref, 1f, 0f);
                        CudaTestSupport.assertClose(toCpu(go), ref, dt, "gemm " + dt + " " + java.util.Arrays.toString(sh)
                                + (ta ? " a^T" : "") + (tb ? " b^T" : ""));
                    }
                }
            }
        }
    }

    @Test
    void alphaBetaAndABroadcastBatch() {
        long seed = 100;
        for (DType dt : DTYPES) {
            try (Scope s = Scope.open("gemm")) {
                long batch = 5;
                long m = 33;
                long k = 65;
                long n = 17;
                Tensor a = normal(dt, seed++, batch, m, k);
                Tensor b = normal(dt, seed++, 1, k, n);
                Tensor c = normal(dt, seed++, batch, m, n);
                // b repeated for every batch entry through a zero batch stride
                Tensor gb = toGpu(b);
                Tensor gbRepeated = gb.restrided(new long[] {batch, k, n}, new long[] {0, n, 1}, gb.offset());
                Tensor go = toGpu(c);
                gpu().gemm(toGpu(a), gbRepeated, go, 0.5f, -1.25f);
                Tensor ref = f32(c);
                Tensor cb = f32(b);
                cpu().gemm(f32(a), cb.restrided(new long[] {batch, k, n}, new long[] {0, n, 1}, cb.offset()), ref,
                        0.5f, -1.25f);
                CudaTestSupport.assertClose(toCpu(go), ref, dt, "alpha/beta, broadcast batch " + dt);
            }
        }
    }

    @Test
    void biasEpilogueAddsToEveryRow() {
        long seed = 200;
        for (DType dt : DTYPES) {
            try (Scope s = Scope.open("gemmBias")) {
                long batch = 2;
                long m = 45;
                long k = 70;
                long n = 38;
                Tensor x = normal(dt, seed++, batch, m, k);
                Tensor w = normal(dt, seed++, n, k); // [out, in]: used transposed, as Linalg.linear does
                Tensor bias = normal(dt, seed++, n);
                Tensor gw = toGpu(w);
                Tensor gwT = gw.restrided(new long[] {batch, k, n}, new long[] {0, 1, k}, gw.offset());
                Tensor go = poisoned(dt, CUDA, batch, m, n);
                ((CudaLinalgKernels) gpu()).gemmBias(toGpu(x), gwT, toGpu(bias), go);
                Tensor fw = f32(w);
                Tensor ref = Tensor.empty(DType.F32, Device.CPU, batch, m, n);
                Layout.copyInto(Views.expand(f32(bias), batch, m, n), ref);
                cpu().gemm(f32(x), fw.restrided(new long[] {batch, k, n}, new long[] {0, 1, k}, fw.offset()), ref, 1f, 1f);
                CudaTestSupport.assertClose(toCpu(go), ref, dt, "gemmBias " + dt);
            }
        }
    }

    @Test
    void misalignedViewsStillWork() {
        for (DType dt : DTYPES) {
            try (Scope s = Scope.open("misaligned")) {
                Tensor big = normal(dt, 300, 1, 41, 66);
                // one element in: 2- or 4-byte aligned operand
                Tensor a = Views.narrow(big, 2, 1, 63);
                Tensor b = normal(dt, 301, 1, 63, 31);
                Tensor go = poisoned(dt, CUDA, 1, 41, 31);
                gpu().gemm(Views.narrow(toGpu(big), 2, 1, 63), toGpu(b), go, 1f, 0f);
                Tensor ref = Tensor.empty(DType.F32, Device.CPU, 1, 41, 31);
                cpu().gemm(f32(a).contiguous(), f32(b), ref, 1f, 0f);
                CudaTestSupport.assertClose(toCpu(go), ref, dt, "misaligned a " + dt);
            }
        }
    }

    @Test
    void frontEndsRunOnCuda() {
        for (DType dt : DTYPES) {
            try (Scope s = Scope.open("frontEnds")) {
                Tensor a = normal(dt, 400, 2, 3, 37, 53);
                Tensor b = normal(dt, 401, 53, 29);
                Tensor mm = Linalg.matmul(toGpu(a), toGpu(b));
                Tensor ref = Linalg.matmul(f32(a), f32(b));
                CudaTestSupport.assertClose(toCpu(mm), ref, dt, "Linalg.matmul " + dt);
                Tensor x = normal(dt, 402, 7, 11, 64);
                Tensor w = normal(dt, 403, 48, 64);
                Tensor bias = normal(dt, 404, 48);
                Tensor lin = Linalg.linear(toGpu(x), toGpu(w), toGpu(bias));
                Tensor lref = Linalg.linear(f32(x), f32(w), f32(bias));
                CudaTestSupport.assertClose(toCpu(lin), lref, dt, "Linalg.linear " + dt);
            }
        }
    }

    @Test
    void sixteenBitProductsAccumulateIntoF32() {
        for (DType dt : new DType[] {DType.BF16, DType.F16}) {
            try (Scope s = Scope.open("productF32")) {
                Tensor a = normal(dt, 500, 67, 96);
                Tensor b = normal(dt, 501, 45, 96);
                Tensor prior = normal(DType.F32, 502, 67, 45);
                Tensor out = toGpu(prior);
                // out = 0.5 a b^T + out: the weight read transposed in place, the result never rounded to 16 bits
                Linalg.productF32Into(toGpu(a), Views.transpose(toGpu(b), 0, 1), out, 0.5f, 1f);
                Tensor ref = Views.contiguous(Arith.mulScalar(prior, 1.0));
                Linalg.productF32Into(f32(a), Views.transpose(f32(b), 0, 1), ref, 0.5f, 1f);
                CudaTestSupport.assertClose(toCpu(out), ref, 1e-5, "productF32Into " + dt);
            }
        }
    }

    @Test
    void linearCrossEntropyOnBf16MatchesTheCpu() {
        int t = 300;
        int d = 64;
        int v = 1000;
        long[] labels = new long[t];
        java.util.Random rng = new java.util.Random(9);
        for (int i = 0; i < t; i++) {
            labels[i] = i % 7 == 3 ? -100 : rng.nextInt(v);
        }
        try (Scope s = Scope.open("lceGpu")) {
            Tensor h = normal(DType.BF16, 510, t, d);
            // Logits of order 1, as a trained head gives: bf16 logits then move probabilities by ~0.3%.
            Tensor w = CudaTestSupport.random(DType.BF16, 511, -0.2, 0.2, v, d);
            Tensor hg = toGpu(h).requiresGrad(true);
            Tensor wg = toGpu(w).requiresGrad(true);
            Tensor loss = dev.panomni.tensor.ops.LinearCrossEntropy.loss(hg, wg,
                    toGpu(Tensor.ofLongs(labels, t)), -100, 128);
            loss.backward();
            Tensor hc = f32(h).requiresGrad(true);
            Tensor wc = f32(w).requiresGrad(true);
            Tensor ref = dev.panomni.tensor.ops.LinearCrossEntropy.loss(hc, wc, Tensor.ofLongs(labels, t), -100, 128);
            ref.backward();
            // The GPU rounds the logits to bf16 (as PyTorch's bf16 head does) and computes the loss from
            // them in fp32; the gradient is bf16 once (dlogits, in place) and summed in fp32; the CPU
            // reference keeps fp32 logits of the same bf16 operands.
            org.junit.jupiter.api.Assertions.assertEquals(ref.item(), toCpu(loss).item(), 1e-3 * Math.abs(ref.item()));
            CudaTestSupport.assertClose(toCpu(hg.grad()), hc.grad(), 1e-2, "dHidden");
            CudaTestSupport.assertClose(toCpu(wg.grad()), wc.grad(), 1e-2, "dWeight");
        }
    }

    @Test
    void groupedGemmMatchesTheCpuWithEmptyGroups() {
        // Small groups; the tensor-core kernel for 16-bit types, per-group cuBLASLt for F32.
        groupedGemmCase(new long[] {0, 13, 13, 40, 41, 41, 97}, 48, 24, 500);
        // Groups spanning several 128-row tiles with partial tiles in every dimension, and an empty last group.
        groupedGemmCase(new long[] {0, 300, 300, 301, 700, 700}, 136, 200, 600);
        // N not a multiple of 8: every dtype takes the per-group cuBLASLt path.
        groupedGemmCase(new long[] {0, 5, 70, 70, 129}, 40, 20, 700);
    }

    private static void groupedGemmCase(long[] offsets, long k, long n, long seed) {
        GroupedGemmKernels g = Backends.forDevice(CUDA).kernels(GroupedGemmKernels.class);
        GroupedGemmKernels c = Backends.forDevice(Device.CPU).kernels(GroupedGemmKernels.class);
        int groups = offsets.length - 1;
        long rows = offsets[groups];
        String what = " offsets " + java.util.Arrays.toString(offsets) + " k " + k + " n " + n;
        for (DType dt : DTYPES) {
            try (Scope s = Scope.open("grouped")) {
                Tensor x = normal(dt, seed++, rows, k);
                Tensor w = normal(dt, seed++, groups, n, k);
                Tensor dy = normal(dt, seed++, rows, n);
                Tensor out = poisoned(dt, CUDA, rows, n);
                g.forward(toGpu(x), toGpu(w), offsets, out);
                Tensor ref = Tensor.empty(DType.F32, Device.CPU, rows, n);
                c.forward(f32(x), f32(w), offsets, ref);
                CudaTestSupport.assertClose(toCpu(out), ref, dt, "grouped forward " + dt + what);

                Tensor dx = poisoned(dt, CUDA, rows, k);
                g.backwardInput(toGpu(dy), toGpu(w), offsets, dx);
                Tensor dxRef = Tensor.empty(DType.F32, Device.CPU, rows, k);
                c.backwardInput(f32(dy), f32(w), offsets, dxRef);
                CudaTestSupport.assertClose(toCpu(dx), dxRef, dt, "grouped backwardInput " + dt + what);

                Tensor dw = poisoned(dt, CUDA, groups, n, k);
                g.backwardWeight(toGpu(dy), toGpu(x), offsets, dw);
                Tensor dwRef = Tensor.empty(DType.F32, Device.CPU, groups, n, k);
                c.backwardWeight(f32(dy), f32(x), offsets, dwRef);
                CudaTestSupport.assertClose(toCpu(dw), dwRef, dt, "grouped backwardWeight (empty groups are zeros) " + dt + what);
            }
        }
    }
}
