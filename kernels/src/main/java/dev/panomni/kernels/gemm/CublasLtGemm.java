package dev.panomni.kernels.gemm;

import dev.panomni.bindings.cublas.CublasLt;
import dev.panomni.bindings.cublas.CublasStatus;
import dev.panomni.bindings.cublas.cublasLtEpilogue_t;
import dev.panomni.bindings.cublas.cublasLtMatmulDescAttributes_t;
import dev.panomni.bindings.cublas.cublasLtMatmulHeuristicResult_t;
import dev.panomni.bindings.cublas.cublasLtMatmulPreferenceAttributes_t;
import dev.panomni.bindings.cublas.cublasLtMatrixLayoutAttribute_t;
import dev.panomni.bindings.cublas.cudaDataType;
import dev.panomni.kernels.runtime.CudaDevice;
import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.kernels.runtime.CudaStream;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuBLASLt matrix products on one device: a handle, a workspace per stream from the device's pool,
 * and a cache of plans (descriptors plus the algorithm the heuristic chose) per {@link GemmShape},
 * so the heuristic runs once per shape, dtype, transposition and alignment. Thread-safe.
 */
public final class CublasLtGemm {
    /** Workspace per stream: enough for every algorithm the heuristic returns for large bf16 products on Hopper. */
    public static final long WORKSPACE_BYTES = 32L << 20;
    private static final int MAX_PLANS = 4096;
    private static final ThreadLocal<MemorySegment> SCALARS =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(16, 8));

    private final CudaDevice device;
    private final MemorySegment handle;
    private final Map<CudaStream, Long> workspaces = new ConcurrentHashMap<>();
    private final Map<GemmShape, GemmPlan> plans = new LinkedHashMap<>(256, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<GemmShape, GemmPlan> eldest) {
            if (size() > MAX_PLANS) {
                eldest.getValue().close();
                return true;
            }
            return false;
        }
    };

    private CublasLtGemm(CudaDevice device) {
        this.device = device;
        device.makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            CublasStatus.check(CublasLt.cublasLtCreate(out), "cublasLtCreate");
            this.handle = out.get(ADDRESS, 0);
        }
    }

    /** The engine of {@code device}, created on first use. */
    public static CublasLtGemm of(CudaDevice device) {
        return device.resource(CublasLtGemm.class, CublasLtGemm::new);
    }

    /**
     * Queues {@code D = alpha op(A) op(B) + beta C (+ bias)} on {@code stream}, with D written over C
     * (same address and layout).
     *
     * @param a    device address of A
     * @param b    device address of B
     * @param c    device address of C and D
     * @param bias device address of the bias vector (length m, D's type) when {@code shape.bias()}, else 0
     */
    public void matmul(CudaStream stream, GemmShape shape, long a, long b, long c, long bias, float alpha, float beta) {
        GemmPlan plan;
        synchronized (plans) {
            plan = plans.get(shape);
            if (plan == null) {
                plan = GemmPlan.create(handle, shape, WORKSPACE_BYTES);
                plans.put(shape, plan);
            }
        }
        long workspace = workspace(stream);
        device.makeCurrent();
        MemorySegment scalars = SCALARS.get();
        scalars.set(JAVA_FLOAT, 0, alpha);
        scalars.set(JAVA_FLOAT, 4, beta);
        synchronized (plan) {
            if (shape.bias()) {
                plan.setBias(bias);
            }
            int rc = CublasLt.cublasLtMatmul(handle, plan.desc(), scalars.asSlice(0, 4),
                    MemorySegment.ofAddress(a), plan.layoutA(), MemorySegment.ofAddress(b), plan.layoutB(),
                    scalars.asSlice(4, 4), MemorySegment.ofAddress(c), plan.layoutC(), MemorySegment.ofAddress(c),
                    plan.layoutC(), plan.algo(), MemorySegment.ofAddress(workspace), WORKSPACE_BYTES, stream.handle());
            if (rc != 0) {
                throw CublasStatus.exception(rc, "cublasLtMatmul(" + shape + ")");
            }
        }
        if (CudaRuntime.syncEveryLaunch()) {
            stream.synchronize();
        }
    }

    /** Plans cached now (for tests and diagnostics). */
    public int cachedPlans() {
        synchronized (plans) {
            return plans.size();
        }
    }

    private long workspace(CudaStream stream) {
        Long w = workspaces.get(stream);
        if (w == null) {
            // Allocated on the stream it serves and never freed: it lives as long as the device.
            w = workspaces.computeIfAbsent(stream, s -> device.allocateRaw(WORKSPACE_BYTES, s));
        }
        return w;
    }

    /** The cudaDataType of a Panomni dtype name. */
    static int dataType(dev.panomni.tensor.DType dt) {
        return switch (dt) {
            case F32 -> cudaDataType.CUDA_R_32F;
            case F16 -> cudaDataType.CUDA_R_16F;
            case BF16 -> cudaDataType.CUDA_R_16BF;
            default -> throw new IllegalArgumentException("cuBLASLt GEMM takes F32, F16 or BF16, got " + dt);
        };
    }

    /** Descriptors and the chosen algorithm for one {@link GemmShape}. */
    private static final class GemmPlan implements AutoCloseable {
        private final Arena arena = Arena.ofShared();
        private final MemorySegment desc;
        private final MemorySegment layoutA;
        private final MemorySegment layoutB;
        private final MemorySegment layoutC;
        private final MemorySegment algo;
        private final MemorySegment biasPointer;

        private GemmPlan(MemorySegment desc, MemorySegment layoutA, MemorySegment layoutB, MemorySegment layoutC,
                         MemorySegment heuristicAlgo) {
            this.desc = desc;
            this.layoutA = layoutA;
            this.layoutB = layoutB;
            this.layoutC = layoutC;
            this.algo = arena.allocate(heuristicAlgo.byteSize(), 8);
            this.algo.copyFrom(heuristicAlgo);
            this.biasPointer = arena.allocate(JAVA_LONG);
        }

        static GemmPlan create(MemorySegment handle, GemmShape s, long workspaceBytes) {
            try (Arena tmp = Arena.ofConfined()) {
                MemorySegment out = tmp.allocate(ADDRESS);
                CublasStatus.check(CublasLt.cublasLtMatmulDescCreate(out, s.computeType(), cudaDataType.CUDA_R_32F),
                        "cublasLtMatmulDescCreate");
                MemorySegment desc = out.get(ADDRESS, 0);
                MemorySegment[] layouts = new MemorySegment[3];
                boolean built = false;
                try {
                    describe(tmp, desc, s);
                    layouts[0] = layout(tmp, s.dataType(), s.rowsA(), s.colsA(), s.lda(), s.batch(), s.strideA());
                    layouts[1] = layout(tmp, s.dataType(), s.rowsB(), s.colsB(), s.ldb(), s.batch(), s.strideB());
                    layouts[2] = layout(tmp, s.dataType(), s.m(), s.n(), s.ldc(), s.batch(), s.strideC());
                    MemorySegment algo = chooseAlgorithm(tmp, handle, desc, layouts, s, workspaceBytes);
                    GemmPlan plan = new GemmPlan(desc, layouts[0], layouts[1], layouts[2], algo);
                    built = true;
                    return plan;
                } finally {
                    if (!built) {
                        for (MemorySegment l : layouts) {
                            if (l != null) {
                                CublasLt.cublasLtMatrixLayoutDestroy(l);
                            }
                        }
                        CublasLt.cublasLtMatmulDescDestroy(desc);
                    }
                }
            }
        }

        private static void describe(Arena tmp, MemorySegment desc, GemmShape s) {
            MemorySegment i32 = tmp.allocate(JAVA_INT);
            i32.set(JAVA_INT, 0, s.transA());
            check(CublasLt.cublasLtMatmulDescSetAttribute(desc, cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_TRANSA,
                    i32, 4), "TRANSA");
            i32.set(JAVA_INT, 0, s.transB());
            check(CublasLt.cublasLtMatmulDescSetAttribute(desc, cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_TRANSB,
                    i32, 4), "TRANSB");
            if (s.bias()) {
                i32.set(JAVA_INT, 0, cublasLtEpilogue_t.CUBLASLT_EPILOGUE_BIAS);
                check(CublasLt.cublasLtMatmulDescSetAttribute(desc,
                        cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_EPILOGUE, i32, 4), "EPILOGUE");
            }
        }

        /** The heuristic's first choice (an algorithm struct in {@code tmp}). */
        private static MemorySegment chooseAlgorithm(Arena tmp, MemorySegment handle, MemorySegment desc,
                                                     MemorySegment[] layouts, GemmShape s, long workspaceBytes) {
            MemorySegment out = tmp.allocate(ADDRESS);
            CublasStatus.check(CublasLt.cublasLtMatmulPreferenceCreate(out), "cublasLtMatmulPreferenceCreate");
            MemorySegment pref = out.get(ADDRESS, 0);
            try {
                MemorySegment i64 = tmp.allocate(JAVA_LONG);
                i64.set(JAVA_LONG, 0, workspaceBytes);
                check(CublasLt.cublasLtMatmulPreferenceSetAttribute(pref,
                        cublasLtMatmulPreferenceAttributes_t.CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, i64, 8),
                        "MAX_WORKSPACE_BYTES");
                // Views at an offset are less aligned than fresh allocations: only algorithms that work at
                // the actual alignment may be chosen.
                MemorySegment i32 = tmp.allocate(JAVA_INT);
                setAlignment(pref, i32, cublasLtMatmulPreferenceAttributes_t.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, s.alignA());
                setAlignment(pref, i32, cublasLtMatmulPreferenceAttributes_t.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, s.alignB());
                setAlignment(pref, i32, cublasLtMatmulPreferenceAttributes_t.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, s.alignC());
                setAlignment(pref, i32, cublasLtMatmulPreferenceAttributes_t.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, s.alignC());
                MemorySegment result = cublasLtMatmulHeuristicResult_t.allocate(tmp);
                MemorySegment count = tmp.allocate(JAVA_INT);
                int rc = CublasLt.cublasLtMatmulAlgoGetHeuristic(handle, desc, layouts[0], layouts[1], layouts[2],
                        layouts[2], pref, 1, result, count);
                if (rc != 0 || count.get(JAVA_INT, 0) == 0) {
                    throw new NoGemmAlgorithmException("cuBLASLt has no algorithm for " + s + (rc != 0
                            ? ": " + CublasStatus.exception(rc, "cublasLtMatmulAlgoGetHeuristic").getMessage() : ""));
                }
                return cublasLtMatmulHeuristicResult_t.algo(result);
            } finally {
                CublasLt.cublasLtMatmulPreferenceDestroy(pref);
            }
        }

        private static void setAlignment(MemorySegment pref, MemorySegment i32, int attr, int bytes) {
            i32.set(JAVA_INT, 0, bytes);
            check(CublasLt.cublasLtMatmulPreferenceSetAttribute(pref, attr, i32, 4), "MIN_ALIGNMENT");
        }

        private static MemorySegment layout(Arena tmp, int type, long rows, long cols, long ld, int batch, long stride) {
            MemorySegment out = tmp.allocate(ADDRESS);
            CublasStatus.check(CublasLt.cublasLtMatrixLayoutCreate(out, type, rows, cols, ld),
                    "cublasLtMatrixLayoutCreate(" + rows + " x " + cols + ", ld " + ld + ")");
            MemorySegment l = out.get(ADDRESS, 0);
            if (batch > 1) {
                MemorySegment v = tmp.allocate(JAVA_LONG);
                v.set(JAVA_INT, 0, batch);
                check(CublasLt.cublasLtMatrixLayoutSetAttribute(l, cublasLtMatrixLayoutAttribute_t.CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                        v, 4), "BATCH_COUNT");
                v.set(JAVA_LONG, 0, stride);
                check(CublasLt.cublasLtMatrixLayoutSetAttribute(l,
                        cublasLtMatrixLayoutAttribute_t.CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, v, 8),
                        "STRIDED_BATCH_OFFSET");
            }
            return l;
        }

        private static void check(int rc, String what) {
            CublasStatus.check(rc, "cuBLASLt set attribute " + what);
        }

        MemorySegment desc() {
            return desc;
        }

        MemorySegment layoutA() {
            return layoutA;
        }

        MemorySegment layoutB() {
            return layoutB;
        }

        MemorySegment layoutC() {
            return layoutC;
        }

        MemorySegment algo() {
            return algo;
        }

        void setBias(long address) {
            biasPointer.set(JAVA_LONG, 0, address);
            check(CublasLt.cublasLtMatmulDescSetAttribute(desc, cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                    biasPointer, 8), "BIAS_POINTER");
        }

        @Override
        public void close() {
            CublasLt.cublasLtMatrixLayoutDestroy(layoutA);
            CublasLt.cublasLtMatrixLayoutDestroy(layoutB);
            CublasLt.cublasLtMatrixLayoutDestroy(layoutC);
            CublasLt.cublasLtMatmulDescDestroy(desc);
            arena.close();
        }
    }
}
