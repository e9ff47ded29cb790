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
import dev.panomni.kernels.runtime.CudaEvent;
import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.KernelProfile;

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
 * and a cache of plans (descriptors plus the chosen algorithm) per {@link GemmShape}, so the choice
 * is made once per shape, dtype, transposition and alignment. Thread-safe.
 *
 * <p>Choosing, as cuBLAS does internally: the heuristic ranks up to {@link #CANDIDATES} algorithms
 * ({@code -Dpanomni.cuda.gemmCandidates}, default 16); on the first product of a shape each
 * candidate runs on the actual operands (into a scratch output, so C is untouched), timed with CUDA
 * events, and the fastest is kept for the rest of the process: every later product of that shape
 * runs the same algorithm, so results are deterministic within a process (another process may time
 * a different winner, whose bits can differ in the last place). {@code -Dpanomni.cuda.gemmAutotune=false}
 * takes the heuristic's first choice instead, deterministic across processes;
 * {@code -Dpanomni.cuda.gemmAutotune.verbose=true} prints each choice to stderr. Tuning synchronizes
 * the stream once per shape (tens of milliseconds for the largest products).
 */
public final class CublasLtGemm {
    /** Workspace per stream: enough for every algorithm the heuristic returns for large bf16 products on Hopper. */
    public static final long WORKSPACE_BYTES = 32L << 20;
    /** Whether the first product of each shape times the heuristic's candidates (see the class comment). */
    public static final boolean AUTOTUNE = !"false".equalsIgnoreCase(System.getProperty("panomni.cuda.gemmAutotune"));
    /** How many algorithms the heuristic is asked for. */
    public static final int CANDIDATES = Math.max(1, Integer.getInteger("panomni.cuda.gemmCandidates", 16));
    private static final boolean VERBOSE = Boolean.getBoolean("panomni.cuda.gemmAutotune.verbose");
    /** Device time each candidate is timed for in the first round (roughly; at least 2 and at most 20 runs). */
    private static final double ROUND_MILLIS = 4.0;
    /** Candidates timed again in the second round. */
    private static final int FINALISTS = 3;
    /** Interleaved passes over the finalists in the second round. */
    private static final int FINAL_PASSES = 3;
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
        matmul(stream, shape, a, b, c, bias, alpha, beta, true);
    }

    /**
     * {@link #matmul(CudaStream, GemmShape, long, long, long, long, float, float)}, where {@code tune}
     * false takes the heuristic's first choice for a shape seen for the first time instead of timing
     * candidates: for shapes that vary from call to call (the row counts of MoE expert groups), where
     * each new shape would otherwise cost a synchronizing tuning round.
     */
    public void matmul(CudaStream stream, GemmShape shape, long a, long b, long c, long bias, float alpha, float beta,
                       boolean tune) {
        GemmPlan plan;
        synchronized (plans) {
            plan = plans.get(shape);
            if (plan == null) {
                plan = GemmPlan.create(handle, shape, WORKSPACE_BYTES, AUTOTUNE && tune ? CANDIDATES : 1);
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
            if (!plan.tuned) {
                tune(plan, stream, shape, a, b, c, scalars, workspace);
            }
            Object timing = KernelProfile.ENABLED ? KernelProfile.begin(stream, profileName(shape)) : null;
            int rc = run(plan, plan.chosen, stream, a, b, c, c, scalars, workspace);
            if (timing != null) {
                KernelProfile.end(stream, timing);
            }
            if (rc != 0) {
                throw CublasStatus.exception(rc, "cublasLtMatmul(" + shape + ")");
            }
        }
        if (CudaRuntime.syncEveryLaunch()) {
            stream.synchronize();
        }
    }

    /** "cublasLt m x n x k" with the batch and whether the shape's row count varies (grouped), for the profile. */
    private static String profileName(GemmShape s) {
        return "cublasLt gemm " + s.m() + "x" + s.n() + "x" + s.k() + (s.batch() > 1 ? " batch " + s.batch() : "")
                + (s.outputType() != s.dataType() ? " f32-out" : "");
    }

    private int run(GemmPlan plan, int algo, CudaStream stream, long a, long b, long c, long d, MemorySegment scalars,
                    long workspace) {
        return CublasLt.cublasLtMatmul(handle, plan.desc(), scalars.asSlice(0, 4),
                MemorySegment.ofAddress(a), plan.layoutA(), MemorySegment.ofAddress(b), plan.layoutB(),
                scalars.asSlice(4, 4), MemorySegment.ofAddress(c), plan.layoutC(), MemorySegment.ofAddress(d),
                plan.layoutC(), plan.algo(algo), MemorySegment.ofAddress(workspace), WORKSPACE_BYTES, stream.handle());
    }

    /**
     * Times the plan's candidates on the actual operands, writing D to a scratch buffer of C's layout
     * (C is read when beta is not zero, never written), and keeps the fastest: a first round of about
     * {@link #ROUND_MILLIS} per candidate, then {@link #FINAL_PASSES} interleaved passes over the
     * {@link #FINALISTS} best, each scored by the median of its samples; ties go to the heuristic's
     * order. Without memory for the scratch buffer, the heuristic's first choice stays.
     */
    private void tune(GemmPlan plan, CudaStream stream, GemmShape shape, long a, long b, long c, MemorySegment scalars,
                      long workspace) {
        plan.tuned = true;
        int count = plan.candidates();
        if (count <= 1) {
            return;
        }
        long bytes = shape.outputBytes();
        long scratch;
        try {
            scratch = device.allocateRaw(bytes, stream);
        } catch (RuntimeException e) {
            return;
        }
        try (CudaEvent start = device.newEvent(true); CudaEvent end = device.newEvent(true)) {
            double[] millis = new double[count];
            java.util.Arrays.fill(millis, Double.POSITIVE_INFINITY);
            // One run of the first candidate sizes the rounds (and warms clocks, caches and the workspace).
            if (run(plan, 0, stream, a, b, c, scratch, scalars, workspace) != 0) {
                return;
            }
            double one = time(plan, 0, 1, stream, a, b, c, scratch, scalars, workspace, start, end);
            int reps = (int) Math.max(2, Math.min(20, Math.round(ROUND_MILLIS / Math.max(one, 1e-3))));
            for (int i = 0; i < count; i++) {
                if (run(plan, i, stream, a, b, c, scratch, scalars, workspace) != 0) {
                    continue;   // not runnable here after all: never chosen
                }
                millis[i] = time(plan, i, reps, stream, a, b, c, scratch, scalars, workspace, start, end);
            }
            Integer[] order = new Integer[count];
            for (int i = 0; i < count; i++) {
                order[i] = i;
            }
            java.util.Arrays.sort(order, (x, y) -> Double.compare(millis[x], millis[y]));
            // The finalists again, interleaved so that clock and power drift fall on all of them alike;
            // each is scored by the median of its samples.
            int finalists = 0;
            while (finalists < Math.min(FINALISTS, count) && millis[order[finalists]] < Double.POSITIVE_INFINITY) {
                finalists++;
            }
            double[][] samples = new double[finalists][FINAL_PASSES + 1];
            for (int f = 0; f < finalists; f++) {
                samples[f][0] = millis[order[f]];
            }
            for (int pass = 1; pass <= FINAL_PASSES; pass++) {
                for (int f = 0; f < finalists; f++) {
                    samples[f][pass] = time(plan, order[f], reps, stream, a, b, c, scratch, scalars, workspace, start, end);
                }
            }
            int best = -1;
            double bestMillis = Double.POSITIVE_INFINITY;
            for (int f = 0; f < finalists; f++) {
                double[] v = samples[f].clone();
                java.util.Arrays.sort(v);
                double median = (v[(v.length - 1) / 2] + v[v.length / 2]) / 2;
                int i = order[f];
                if (median < bestMillis || (median == bestMillis && i < best)) {
                    bestMillis = median;
                    best = i;
                }
            }
            if (best >= 0) {
                plan.chosen = best;
            }
            if (VERBOSE) {
                System.err.printf(java.util.Locale.ROOT,
                        "panomni gemm autotune %s: %d candidates, heuristic's first %.4f ms, chose #%d (median %.4f ms)%n",
                        shape, count, millis[0], plan.chosen, bestMillis);
            }
        } finally {
            device.free(scratch, stream);
        }
    }

    /** Milliseconds per run of candidate {@code algo}, over {@code reps} runs between two events. */
    private double time(GemmPlan plan, int algo, int reps, CudaStream stream, long a, long b, long c, long d,
                        MemorySegment scalars, long workspace, CudaEvent start, CudaEvent end) {
        start.record(stream);
        for (int r = 0; r < reps; r++) {
            if (run(plan, algo, stream, a, b, c, d, scalars, workspace) != 0) {
                end.record(stream);
                end.synchronize();
                return Double.POSITIVE_INFINITY;
            }
        }
        end.record(stream);
        end.synchronize();
        return end.elapsedMillis(start) / (double) reps;
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

    /** Descriptors, the heuristic's candidate algorithms and the chosen one for one {@link GemmShape}. */
    private static final class GemmPlan implements AutoCloseable {
        private final Arena arena = Arena.ofShared();
        private final MemorySegment desc;
        private final MemorySegment layoutA;
        private final MemorySegment layoutB;
        private final MemorySegment layoutC;
        /** The candidates' cublasLtMatmulAlgo_t structs, in the heuristic's order. */
        private final MemorySegment[] algos;
        private final MemorySegment biasPointer;
        /** Index into {@link #algos} of the algorithm every product of this shape runs; guarded by this plan. */
        int chosen;
        /** Whether the candidates have been timed (or need not be); guarded by this plan. */
        boolean tuned;

        private GemmPlan(MemorySegment desc, MemorySegment layoutA, MemorySegment layoutB, MemorySegment layoutC,
                         MemorySegment[] heuristicAlgos) {
            this.desc = desc;
            this.layoutA = layoutA;
            this.layoutB = layoutB;
            this.layoutC = layoutC;
            this.algos = new MemorySegment[heuristicAlgos.length];
            for (int i = 0; i < algos.length; i++) {
                algos[i] = arena.allocate(heuristicAlgos[i].byteSize(), 8);
                algos[i].copyFrom(heuristicAlgos[i]);
            }
            this.biasPointer = arena.allocate(JAVA_LONG);
            this.tuned = algos.length <= 1;
        }

        static GemmPlan create(MemorySegment handle, GemmShape s, long workspaceBytes, int candidates) {
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
                    layouts[2] = layout(tmp, s.outputType(), s.m(), s.n(), s.ldc(), s.batch(), s.strideC());
                    MemorySegment[] algos = candidateAlgorithms(tmp, handle, desc, layouts, s, workspaceBytes, candidates);
                    GemmPlan plan = new GemmPlan(desc, layouts[0], layouts[1], layouts[2], algos);
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

        /** The heuristic's best {@code candidates} choices, best first (algorithm structs in {@code tmp}). */
        private static MemorySegment[] candidateAlgorithms(Arena tmp, MemorySegment handle, MemorySegment desc,
                                                           MemorySegment[] layouts, GemmShape s, long workspaceBytes,
                                                           int candidates) {
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
                MemorySegment results = cublasLtMatmulHeuristicResult_t.allocateArray(candidates, tmp);
                MemorySegment count = tmp.allocate(JAVA_INT);
                int rc = CublasLt.cublasLtMatmulAlgoGetHeuristic(handle, desc, layouts[0], layouts[1], layouts[2],
                        layouts[2], pref, candidates, results, count);
                if (rc != 0 || count.get(JAVA_INT, 0) == 0) {
                    throw new NoGemmAlgorithmException("cuBLASLt has no algorithm for " + s + (rc != 0
                            ? ": " + CublasStatus.exception(rc, "cublasLtMatmulAlgoGetHeuristic").getMessage() : ""));
                }
                java.util.List<MemorySegment> usable = new java.util.ArrayList<>();
                for (int i = 0; i < count.get(JAVA_INT, 0); i++) {
                    MemorySegment r = cublasLtMatmulHeuristicResult_t.asSlice(results, i);
                    if (cublasLtMatmulHeuristicResult_t.state(r) == 0) {
                        usable.add(cublasLtMatmulHeuristicResult_t.algo(r));
                    }
                }
                if (usable.isEmpty()) {
                    throw new NoGemmAlgorithmException("cuBLASLt's heuristic returned no usable algorithm for " + s);
                }
                return usable.toArray(MemorySegment[]::new);
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

        MemorySegment algo(int i) {
            return algos[i];
        }

        int candidates() {
            return algos.length;
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
