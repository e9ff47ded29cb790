package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;

/**
 * Typed launchers for the kernels of {@code kernels/cuda/attention.cu}. The tensor-core kernels take
 * BF16 or F16 inputs with head dim 64 or 128, 16-byte aligned; everything else runs the simple
 * kernels (head dim up to {@link #SIMPLE_MAX_D}).
 */
public final class AttentionLaunchers {
    /** SIMPLE_MAX_D of simple_attention.cuh (the simple kernels of attention.cu and block_attention.cu). */
    public static final int SIMPLE_MAX_D = 512;
    private static final int TC_THREADS = 256;
    private static final int TC_ROWS = 128;   // FWD_BQ, BWD_BK, DQ_BQ
    private static final int SIMPLE_THREADS = 256;
    private static final KernelLauncher CHECK_CU = new KernelLauncher("attention", "attn_check_cu");
    private static final KernelLauncher FWD_BF16_64 = new KernelLauncher("attention", "attn_fwd_bf16_d64");
    private static final KernelLauncher FWD_BF16_128 = new KernelLauncher("attention", "attn_fwd_bf16_d128");
    private static final KernelLauncher FWD_F16_64 = new KernelLauncher("attention", "attn_fwd_f16_d64");
    private static final KernelLauncher FWD_F16_128 = new KernelLauncher("attention", "attn_fwd_f16_d128");
    private static final KernelLauncher DKDV_BF16_64 = new KernelLauncher("attention", "attn_bwd_dkdv_bf16_d64");
    private static final KernelLauncher DKDV_BF16_128 = new KernelLauncher("attention", "attn_bwd_dkdv_bf16_d128");
    private static final KernelLauncher DKDV_F16_64 = new KernelLauncher("attention", "attn_bwd_dkdv_f16_d64");
    private static final KernelLauncher DKDV_F16_128 = new KernelLauncher("attention", "attn_bwd_dkdv_f16_d128");
    private static final KernelLauncher DQ_BF16_64 = new KernelLauncher("attention", "attn_bwd_dq_bf16_d64");
    private static final KernelLauncher DQ_BF16_128 = new KernelLauncher("attention", "attn_bwd_dq_bf16_d128");
    private static final KernelLauncher DQ_F16_64 = new KernelLauncher("attention", "attn_bwd_dq_f16_d64");
    private static final KernelLauncher DQ_F16_128 = new KernelLauncher("attention", "attn_bwd_dq_f16_d128");
    private static final FloatKernel FWD_SIMPLE = new FloatKernel("attention", "attn_fwd_simple");
    private static final FloatKernel DQ_SIMPLE = new FloatKernel("attention", "attn_bwd_dq_simple");
    private static final FloatKernel DKDV_SIMPLE = new FloatKernel("attention", "attn_bwd_dkdv_simple");
    private static final FloatKernel DELTA = new FloatKernel("attention", "attn_bwd_delta");

    private AttentionLaunchers() {
    }

    /** Problem sizes: T tokens, Hq query heads, Hkv kv heads, head dim D; cu may be null. */
    public record Shape(int tokens, int hq, int hkv, int d, Tensor cu) {
        int ncu() {
            return cu == null ? 0 : Math.toIntExact(cu.numel());
        }
    }

    /** Whether the tensor-core kernels serve these inputs. */
    public static boolean tensorCores(Shape sh, Tensor... ts) {
        DType dt = ts[0].dtype();
        return (dt == DType.BF16 || dt == DType.F16) && (sh.d == 64 || sh.d == 128) && FloatKernel.aligned16(ts);
    }

    /** Records in {@code bad} (I64 [1]) the first entry of cu breaking 0 = cu[0] <= ... <= cu[last] = T, else NONE. */
    public static void checkCuSeqlens(CudaStream s, Tensor cu, int tokens, Tensor bad) {
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(cu).i32(Math.toIntExact(cu.numel())).i32(tokens).ptr(bad);
            CHECK_CU.launch(s, LaunchConfig.linear(1, 32), a, "sdpa cuSeqlens check");
        }
    }

    public static void forward(CudaStream s, Shape sh, Tensor q, Tensor k, Tensor v, boolean causal, float scale,
                               Tensor out, Tensor lse) {
        if (sh.tokens == 0 || sh.hq == 0) {
            return;
        }
        String op = "AttentionKernels.forward q " + q.describe();
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(q).ptr(k).ptr(v).ptrOrNull(sh.cu).i32(sh.ncu()).i32(sh.tokens).i32(sh.hq).i32(sh.hkv);
            if (tensorCores(sh, q, k, v, out)) {
                a.i32(causal ? 1 : 0).f32(scale).ptr(out).ptrOrNull(lse);
                KernelLauncher kl = pick(q.dtype(), sh.d, FWD_BF16_64, FWD_BF16_128, FWD_F16_64, FWD_F16_128);
                kl.launch(s, tcGrid(sh.tokens, sh.hq).withShared(384 * sh.d * 2), a, op);
            } else {
                checkSimple(sh.d, "attention", op);
                a.i32(sh.d).i32(causal ? 1 : 0).f32(scale).ptr(out).ptrOrNull(lse);
                FWD_SIMPLE.of(q.dtype()).launch(s, warps((long) sh.tokens * sh.hq), a, op);
            }
        }
    }

    /** delta [Hq, T] = rowwise dout . out (F32 scratch of the backward). */
    public static void delta(CudaStream s, Shape sh, Tensor dout, Tensor out, Tensor delta) {
        if (sh.tokens == 0 || sh.hq == 0) {
            return;
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(dout).ptr(out).i32(sh.tokens).i32(sh.hq).i32(sh.d).ptr(delta);
            DELTA.of(dout.dtype()).launch(s, warps((long) sh.tokens * sh.hq), a, "AttentionKernels.backward delta");
        }
    }

    /** dK and dV (either may be null, not both). */
    public static void backwardKeyValue(CudaStream s, Shape sh, Tensor q, Tensor k, Tensor v, Tensor dout, Tensor lse,
                                        Tensor delta, boolean causal, float scale, Tensor dk, Tensor dv) {
        if (sh.tokens == 0 || sh.hkv == 0) {
            return;
        }
        String op = "AttentionKernels.backward dK/dV k " + k.describe();
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(q).ptr(k).ptr(v).ptr(dout).ptr(lse).ptr(delta).ptrOrNull(sh.cu).i32(sh.ncu()).i32(sh.tokens)
                    .i32(sh.hq).i32(sh.hkv);
            if (tensorCores(sh, q, k, v, dout, dk, dv)) {
                a.i32(causal ? 1 : 0).f32(scale).ptrOrNull(dk).ptrOrNull(dv);
                int bq = sh.d >= 128 ? 32 : 64;
                int shared = (2 * TC_ROWS + 4 * bq) * sh.d * 2 + 4 * 2 * bq * 4;
                KernelLauncher kl = pick(q.dtype(), sh.d, DKDV_BF16_64, DKDV_BF16_128, DKDV_F16_64, DKDV_F16_128);
                kl.launch(s, tcGrid(sh.tokens, sh.hkv).withShared(shared), a, op);
            } else {
                checkSimple(sh.d, "attention", op);
                a.i32(sh.d).i32(causal ? 1 : 0).f32(scale).ptrOrNull(dk).ptrOrNull(dv);
                DKDV_SIMPLE.of(q.dtype()).launch(s, warps((long) sh.tokens * sh.hkv), a, op);
            }
        }
    }

    /** dQ. */
    public static void backwardQuery(CudaStream s, Shape sh, Tensor q, Tensor k, Tensor v, Tensor dout, Tensor lse,
                                     Tensor delta, boolean causal, float scale, Tensor dq) {
        if (sh.tokens == 0 || sh.hq == 0) {
            return;
        }
        String op = "AttentionKernels.backward dQ q " + q.describe();
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(q).ptr(k).ptr(v).ptr(dout).ptr(lse).ptr(delta).ptrOrNull(sh.cu).i32(sh.ncu()).i32(sh.tokens)
                    .i32(sh.hq).i32(sh.hkv);
            if (tensorCores(sh, q, k, v, dout, dq)) {
                a.i32(causal ? 1 : 0).f32(scale).ptr(dq);
                KernelLauncher kl = pick(q.dtype(), sh.d, DQ_BF16_64, DQ_BF16_128, DQ_F16_64, DQ_F16_128);
                kl.launch(s, tcGrid(sh.tokens, sh.hq).withShared(512 * sh.d * 2), a, op);
            } else {
                checkSimple(sh.d, "attention", op);
                a.i32(sh.d).i32(causal ? 1 : 0).f32(scale).ptr(dq);
                DQ_SIMPLE.of(q.dtype()).launch(s, warps((long) sh.tokens * sh.hq), a, op);
            }
        }
    }

    /** The tensor-core variant for the dtype (BF16 or F16) and head dim (64 or 128). */
    static KernelLauncher pick(DType dt, int d, KernelLauncher bf64, KernelLauncher bf128, KernelLauncher h64,
                               KernelLauncher h128) {
        if (dt == DType.BF16) {
            return d == 64 ? bf64 : bf128;
        }
        return d == 64 ? h64 : h128;
    }

    /** The tensor-core kernels' grid (attention.cu and block_attention.cu tile alike): a block per 128 rows, head. */
    static LaunchConfig tcGrid(int rows, int heads) {
        return new LaunchConfig((rows + TC_ROWS - 1) / TC_ROWS, heads, 1, TC_THREADS, 1, 1, 0);
    }

    /** The simple kernels' launch (both files): a warp per item. */
    static LaunchConfig warps(long count) {
        return LaunchConfig.linear((count * 32 + SIMPLE_THREADS - 1) / SIMPLE_THREADS, SIMPLE_THREADS);
    }

    /** Refuses a head dim the simple kernels (simple_attention.cuh) cannot hold; {@code kernels} names the family. */
    static void checkSimple(int d, String kernels, String op) {
        if (d > SIMPLE_MAX_D) {
            throw new UnsupportedOperationException(op + ": head dim " + d + " exceeds the CUDA " + kernels
                    + " kernels' limit of " + SIMPLE_MAX_D + " (64 and 128 use tensor cores)");
        }
    }
}
