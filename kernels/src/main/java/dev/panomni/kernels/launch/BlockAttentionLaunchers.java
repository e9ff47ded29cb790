package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;

/**
 * Typed launchers for the kernels of {@code kernels/cuda/block_attention.cu}. Every attention
 * launch reads the token metadata that {@link #metadata} writes into a scratch buffer of
 * {@link #metadataBytes} bytes. The tensor-core kernels take BF16 or F16 inputs with head dim 64 or
 * 128, 16-byte aligned; everything else runs the simple kernels (head dim up to
 * {@link AttentionLaunchers#SIMPLE_MAX_D}).
 */
public final class BlockAttentionLaunchers {
    private static final String MODULE = "block_attention";
    private static final int CHUNK = 32;        // BLK_CHUNK: tokens per metadata range
    private static final int TOKEN_BYTES = 16;  // BlkTok
    private static final int SPAN_BYTES = 32;   // BlkSpan
    private static final int TC_ROWS = 128;     // FWD_BQ, BWD_BK, DQ_BQ
    private static final int KEY_TILE = 64;     // FWD_BK, DQ_BK
    private static final int SIMPLE_THREADS = 256;
    private static final KernelLauncher META = new KernelLauncher(MODULE, "blk_meta");
    private static final KernelLauncher FWD_BF16_64 = new KernelLauncher(MODULE, "blk_fwd_bf16_d64");
    private static final KernelLauncher FWD_BF16_128 = new KernelLauncher(MODULE, "blk_fwd_bf16_d128");
    private static final KernelLauncher FWD_F16_64 = new KernelLauncher(MODULE, "blk_fwd_f16_d64");
    private static final KernelLauncher FWD_F16_128 = new KernelLauncher(MODULE, "blk_fwd_f16_d128");
    private static final KernelLauncher DKDV_BF16_64 = new KernelLauncher(MODULE, "blk_bwd_dkdv_bf16_d64");
    private static final KernelLauncher DKDV_BF16_128 = new KernelLauncher(MODULE, "blk_bwd_dkdv_bf16_d128");
    private static final KernelLauncher DKDV_F16_64 = new KernelLauncher(MODULE, "blk_bwd_dkdv_f16_d64");
    private static final KernelLauncher DKDV_F16_128 = new KernelLauncher(MODULE, "blk_bwd_dkdv_f16_d128");
    private static final KernelLauncher DQ_BF16_64 = new KernelLauncher(MODULE, "blk_bwd_dq_bf16_d64");
    private static final KernelLauncher DQ_BF16_128 = new KernelLauncher(MODULE, "blk_bwd_dq_bf16_d128");
    private static final KernelLauncher DQ_F16_64 = new KernelLauncher(MODULE, "blk_bwd_dq_f16_d64");
    private static final KernelLauncher DQ_F16_128 = new KernelLauncher(MODULE, "blk_bwd_dq_f16_d128");
    private static final FloatKernel FWD_SIMPLE = new FloatKernel(MODULE, "blk_fwd_simple");
    private static final FloatKernel DQ_SIMPLE = new FloatKernel(MODULE, "blk_bwd_dq_simple");
    private static final FloatKernel DKDV_SIMPLE = new FloatKernel(MODULE, "blk_bwd_dkdv_simple");
    private static final FloatKernel MERGE = new FloatKernel(MODULE, "blk_merge");
    /** blk_delta_{dout}_{out}, indexed by the two dtypes' float index. */
    private static final KernelLauncher[][] DELTA = new KernelLauncher[3][3];

    static {
        String[] suffix = {"f32", "bf16", "f16"};
        for (int g = 0; g < 3; g++) {
            for (int o = 0; o < 3; o++) {
                DELTA[g][o] = new KernelLauncher(MODULE, "blk_delta_" + suffix[g] + "_" + suffix[o]);
            }
        }
    }

    private BlockAttentionLaunchers() {
    }

    /** Problem sizes: Tq queries, Tk keys, Hq query heads, Hkv kv heads, head dim D. */
    public record Shape(int tq, int tk, int hq, int hkv, int d) {
        int queryChunks() {
            return (tq + CHUNK - 1) / CHUNK;
        }

        int keyChunks() {
            return (tk + CHUNK - 1) / CHUNK;
        }
    }

    /**
     * Where {@link #metadata} puts its four arrays in a scratch buffer (device addresses): per token
     * (doc, pos) of the queries and of the keys, and per chunk of 32 tokens their ranges.
     */
    public record Metadata(long queryTokens, long querySpans, long keyTokens, long keySpans) {
        /** The layout for {@code sh} in {@code scratch} (at least {@link #metadataBytes} bytes). */
        public static Metadata in(Tensor scratch, Shape sh) {
            long base = CudaTensors.address(scratch);
            long qTok = base;
            long kTok = qTok + (long) TOKEN_BYTES * sh.tq;
            long qSpan = kTok + (long) TOKEN_BYTES * sh.tk;
            long kSpan = qSpan + (long) SPAN_BYTES * sh.queryChunks();
            return new Metadata(qTok, qSpan, kTok, kSpan);
        }
    }

    /** Bytes of the scratch buffer {@link #metadata} fills (at least 16). */
    public static long metadataBytes(Shape sh) {
        long tokens = (long) TOKEN_BYTES * (sh.tq + sh.tk);
        return Math.max(16, tokens + (long) SPAN_BYTES * (sh.queryChunks() + sh.keyChunks()));
    }

    /**
     * Fills {@code scratch} (16-byte aligned, {@link #metadataBytes} bytes) from the positions and
     * documents (I32 or I64, contiguous; queries [Tq], keys [Tk]).
     */
    public static void metadata(CudaStream s, Shape sh, Tensor qPos, Tensor kPos, Tensor qDoc, Tensor kDoc,
                                Tensor scratch) {
        int chunks = Math.max(sh.queryChunks(), sh.keyChunks());
        if (chunks == 0) {
            return;
        }
        Metadata m = Metadata.in(scratch, sh);
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(qPos).i32(wide(qPos)).ptr(qDoc).i32(wide(qDoc)).i32(sh.tq)
                    .ptr(kPos).i32(wide(kPos)).ptr(kDoc).i32(wide(kDoc)).i32(sh.tk)
                    .ptr(m.queryTokens).ptr(m.querySpans).ptr(m.keyTokens).ptr(m.keySpans);
            int warps = SIMPLE_THREADS / 32;
            META.launch(s, new LaunchConfig((chunks + warps - 1) / warps, 2, 1, SIMPLE_THREADS, 1, 1, 0), a,
                    "BlockAttentionKernels metadata Tq=" + sh.tq + " Tk=" + sh.tk);
        }
    }

    private static int wide(Tensor index) {
        return index.dtype() == DType.I64 ? 1 : 0;
    }

    /** Whether the tensor-core kernels serve these inputs. */
    public static boolean tensorCores(Shape sh, Tensor... ts) {
        DType dt = ts[0].dtype();
        return (dt == DType.BF16 || dt == DType.F16) && (sh.d == 64 || sh.d == 128) && FloatKernel.aligned16(ts);
    }

    /** out [Tq, Hq, D] and lse F32 [Hq, Tq] (lse may be null). */
    public static void forward(CudaStream s, Shape sh, Metadata m, Tensor q, Tensor k, Tensor v, boolean causal,
                               float scale, Tensor out, Tensor lse) {
        if (sh.tq == 0 || sh.hq == 0) {
            return;
        }
        String op = "BlockAttentionKernels.forward q " + q.describe() + " k " + k.describe();
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(q).ptr(k).ptr(v);
            if (tensorCores(sh, q, k, v, out)) {
                a.ptr(m.queryTokens).ptr(m.querySpans).ptr(m.keyTokens).ptr(m.keySpans).i32(sh.tq).i32(sh.tk).i32(sh.hq)
                        .i32(sh.hkv).i32(causal ? 1 : 0).f32(scale).ptr(out).ptrOrNull(lse);
                KernelLauncher kl = AttentionLaunchers.pick(q.dtype(), sh.d, FWD_BF16_64, FWD_BF16_128,
                        FWD_F16_64, FWD_F16_128);
                int shared = (TC_ROWS + 4 * KEY_TILE) * sh.d * 2 + 2 * KEY_TILE * TOKEN_BYTES;
                kl.launch(s, AttentionLaunchers.tcGrid(sh.tq, sh.hq).withShared(shared), a, op);
            } else {
                AttentionLaunchers.checkSimple(sh.d, "block attention", op);
                a.ptr(m.queryTokens).ptr(m.keyTokens).ptr(m.keySpans).i32(sh.tq).i32(sh.tk).i32(sh.hq).i32(sh.hkv)
                        .i32(sh.d).i32(causal ? 1 : 0).f32(scale).ptr(out).ptrOrNull(lse);
                FWD_SIMPLE.of(q.dtype()).launch(s, AttentionLaunchers.warps((long) sh.tq * sh.hq), a, op);
            }
        }
    }

    /**
     * delta F32 [Hq, Tq] = rowwise dout . out - dlse (dlse F32 [Hq, Tq] or null); {@code out} may
     * be stored in another float dtype than {@code dout}.
     */
    public static void delta(CudaStream s, Shape sh, Tensor dout, Tensor out, Tensor dlse, Tensor delta) {
        if (sh.tq == 0 || sh.hq == 0) {
            return;
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(dout).ptr(out).ptrOrNull(dlse).i32(sh.tq).i32(sh.hq).i32(sh.d).ptr(delta);
            DELTA[floatIndex(dout.dtype())][floatIndex(out.dtype())].launch(s,
                    AttentionLaunchers.warps((long) sh.tq * sh.hq), a,
                    "BlockAttentionKernels.backward delta dout " + dout.describe() + " out " + out.describe());
        }
    }

    private static int floatIndex(DType dt) {
        return switch (dt) {
            case F32 -> 0;
            case BF16 -> 1;
            case F16 -> 2;
            default -> throw new IllegalArgumentException("block attention delta takes float tensors, got " + dt);
        };
    }

    /** dK and dV [Tk, Hkv, D] (either may be null, not both); dout in q's dtype. */
    public static void backwardKeyValue(CudaStream s, Shape sh, Metadata m, Tensor q, Tensor k, Tensor v, Tensor dout,
                                        Tensor lse, Tensor delta, boolean causal, float scale, Tensor dk, Tensor dv) {
        if (sh.tk == 0 || sh.hkv == 0) {
            return;
        }
        String op = "BlockAttentionKernels.backward dK/dV q " + q.describe() + " k " + k.describe();
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(q).ptr(k).ptr(v).ptr(dout).ptr(lse).ptr(delta);
            if (tensorCores(sh, q, k, v, dout, dk, dv)) {
                a.ptr(m.queryTokens).ptr(m.querySpans).ptr(m.keyTokens).ptr(m.keySpans).i32(sh.tq).i32(sh.tk).i32(sh.hq)
                        .i32(sh.hkv).i32(causal ? 1 : 0).f32(scale).ptrOrNull(dk).ptrOrNull(dv);
                int bq = sh.d >= 128 ? 32 : 64;
                int shared = (2 * TC_ROWS + 4 * bq) * sh.d * 2 + 2 * bq * (TOKEN_BYTES + 8);
                KernelLauncher kl = AttentionLaunchers.pick(q.dtype(), sh.d, DKDV_BF16_64, DKDV_BF16_128,
                        DKDV_F16_64, DKDV_F16_128);
                kl.launch(s, AttentionLaunchers.tcGrid(sh.tk, sh.hkv).withShared(shared), a, op);
            } else {
                AttentionLaunchers.checkSimple(sh.d, "block attention", op);
                a.ptr(m.queryTokens).ptr(m.querySpans).ptr(m.keyTokens).i32(sh.tq).i32(sh.tk).i32(sh.hq).i32(sh.hkv)
                        .i32(sh.d).i32(causal ? 1 : 0).f32(scale).ptrOrNull(dk).ptrOrNull(dv);
                DKDV_SIMPLE.of(q.dtype()).launch(s, AttentionLaunchers.warps((long) sh.tk * sh.hkv), a, op);
            }
        }
    }

    /** dQ [Tq, Hq, D]; dout in q's dtype. */
    public static void backwardQuery(CudaStream s, Shape sh, Metadata m, Tensor q, Tensor k, Tensor v, Tensor dout,
                                     Tensor lse, Tensor delta, boolean causal, float scale, Tensor dq) {
        if (sh.tq == 0 || sh.hq == 0) {
            return;
        }
        String op = "BlockAttentionKernels.backward dQ q " + q.describe() + " k " + k.describe();
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(q).ptr(k).ptr(v).ptr(dout).ptr(lse).ptr(delta);
            if (tensorCores(sh, q, k, v, dout, dq)) {
                a.ptr(m.queryTokens).ptr(m.querySpans).ptr(m.keyTokens).ptr(m.keySpans).i32(sh.tq).i32(sh.tk).i32(sh.hq)
                        .i32(sh.hkv).i32(causal ? 1 : 0).f32(scale).ptr(dq);
                KernelLauncher kl = AttentionLaunchers.pick(q.dtype(), sh.d, DQ_BF16_64, DQ_BF16_128,
                        DQ_F16_64, DQ_F16_128);
                int shared = (2 * TC_ROWS + 4 * KEY_TILE) * sh.d * 2 + 2 * KEY_TILE * TOKEN_BYTES;
                kl.launch(s, AttentionLaunchers.tcGrid(sh.tq, sh.hq).withShared(shared), a, op);
            } else {
                AttentionLaunchers.checkSimple(sh.d, "block attention", op);
                a.ptr(m.queryTokens).ptr(m.keyTokens).ptr(m.keySpans).i32(sh.tq).i32(sh.tk).i32(sh.hq).i32(sh.hkv)
                        .i32(sh.d).i32(causal ? 1 : 0).f32(scale).ptr(dq);
                DQ_SIMPLE.of(q.dtype()).launch(s, AttentionLaunchers.warps((long) sh.tq * sh.hq), a, op);
            }
        }
    }

    /**
     * Merges {@code out} [Tq, Hq, D] (any float dtype) and {@code lse} F32 [Hq, Tq] into the F32
     * accumulators {@code accOut} and {@code accLse} in place.
     */
    public static void merge(CudaStream s, Tensor accOut, Tensor accLse, Tensor out, Tensor lse) {
        int tq = Math.toIntExact(out.size(0));
        int hq = Math.toIntExact(out.size(1));
        int d = Math.toIntExact(out.size(2));
        if ((long) tq * hq == 0) {
            return;
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(accOut).ptr(accLse).ptr(out).ptr(lse).i32(tq).i32(hq).i32(d);
            MERGE.of(out.dtype()).launch(s, AttentionLaunchers.warps((long) tq * hq), a,
                    "BlockAttentionKernels.mergeInto out " + out.describe());
        }
    }

}
