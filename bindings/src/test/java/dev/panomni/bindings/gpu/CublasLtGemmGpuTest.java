package dev.panomni.bindings.gpu;

import dev.panomni.bindings.NativeLibrary;
import dev.panomni.bindings.cublas.CublasLt;
import dev.panomni.bindings.cublas.CublasStatus;
import dev.panomni.bindings.cublas.CublasTypes;
import dev.panomni.bindings.cublas.cublasComputeType_t;
import dev.panomni.bindings.cublas.cublasLtMatmulHeuristicResult_t;
import dev.panomni.bindings.cublas.cublasLtMatmulPreferenceAttributes_t;
import dev.panomni.bindings.cublas.cudaDataType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A bf16 GEMM through cuBLASLt against a float64 CPU reference. The matrices are row-major, as Panomni's tensors
 * are; cuBLASLt is column-major, so {@code D = A B} is computed as {@code D^T = B^T A^T} (a row-major matrix read
 * column-major is its transpose): no copies, no transpose flags.
 */
@Tag("gpu")
class CublasLtGemmGpuTest {
    private static final int M = 40;
    private static final int N = 24;
    private static final int K = 56;

    @Test
    void bf16GemmMatchesTheCpu() {
        Gpu.assumeGpu();
        Gpu.assumeLibrary(NativeLibrary.CUBLASLT);
        try (Gpu gpu = Gpu.open(); Arena arena = Arena.ofConfined()) {
            assertTrue(CublasLt.cublasLtGetVersion() >= 110000, "cuBLASLt " + CublasLt.cublasLtGetVersion());
            SplittableRandom rnd = new SplittableRandom(42);
            float[] a = new float[M * K];
            float[] b = new float[K * N];
            MemorySegment ha = arena.allocate(JAVA_SHORT, a.length);
            MemorySegment hb = arena.allocate(JAVA_SHORT, b.length);
            for (int i = 0; i < a.length; i++) {
                short bf = toBf16((float) rnd.nextDouble(-1, 1));
                ha.setAtIndex(JAVA_SHORT, i, bf);
                a[i] = fromBf16(bf);
            }
            for (int i = 0; i < b.length; i++) {
                short bf = toBf16((float) rnd.nextDouble(-1, 1));
                hb.setAtIndex(JAVA_SHORT, i, bf);
                b[i] = fromBf16(bf);
            }
            long da = gpu.alloc(ha.byteSize());
            long db = gpu.alloc(hb.byteSize());
            long dd = gpu.alloc((long) M * N * 2);
            long workspaceBytes = 32L << 20;
            long workspace = gpu.alloc(workspaceBytes);
            gpu.upload(da, ha);
            gpu.upload(db, hb);

            MemorySegment handle = arena.allocate(CublasTypes.cublasLtHandle_t);
            CublasStatus.check(CublasLt.cublasLtCreate(handle), "cublasLtCreate");
            MemorySegment lt = handle.get(ADDRESS, 0);
            MemorySegment desc = arena.allocate(CublasTypes.cublasLtMatmulDesc_t);
            CublasStatus.check(CublasLt.cublasLtMatmulDescCreate(desc, cublasComputeType_t.CUBLAS_COMPUTE_32F,
                    cudaDataType.CUDA_R_32F), "cublasLtMatmulDescCreate");
            // Column-major views: B^T is N x K (ld N), A^T is K x M (ld K), D^T is N x M (ld N).
            MemorySegment bt = layout(arena, N, K, N);
            MemorySegment at = layout(arena, K, M, K);
            MemorySegment dt = layout(arena, N, M, N);
            MemorySegment pref = arena.allocate(CublasTypes.cublasLtMatmulPreference_t);
            CublasStatus.check(CublasLt.cublasLtMatmulPreferenceCreate(pref), "cublasLtMatmulPreferenceCreate");
            MemorySegment ws = arena.allocateFrom(JAVA_LONG, workspaceBytes);
            CublasStatus.check(CublasLt.cublasLtMatmulPreferenceSetAttribute(pref.get(ADDRESS, 0),
                    cublasLtMatmulPreferenceAttributes_t.CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, ws, 8),
                    "cublasLtMatmulPreferenceSetAttribute");
            MemorySegment heuristic = cublasLtMatmulHeuristicResult_t.allocate(arena);
            MemorySegment count = arena.allocate(JAVA_INT);
            CublasStatus.check(CublasLt.cublasLtMatmulAlgoGetHeuristic(lt, desc.get(ADDRESS, 0), bt, at, dt, dt,
                    pref.get(ADDRESS, 0), 1, heuristic, count), "cublasLtMatmulAlgoGetHeuristic");
            assertEquals(1, count.get(JAVA_INT, 0), "cuBLASLt found no algorithm");
            assertTrue(cublasLtMatmulHeuristicResult_t.workspaceSize(heuristic) <= workspaceBytes);

            MemorySegment alpha = arena.allocateFrom(JAVA_FLOAT, 1f);
            MemorySegment beta = arena.allocateFrom(JAVA_FLOAT, 0f);
            CublasStatus.check(CublasLt.cublasLtMatmul(lt, desc.get(ADDRESS, 0), alpha,
                    MemorySegment.ofAddress(db), bt, MemorySegment.ofAddress(da), at, beta,
                    MemorySegment.ofAddress(dd), dt, MemorySegment.ofAddress(dd), dt,
                    cublasLtMatmulHeuristicResult_t.algo(heuristic), MemorySegment.ofAddress(workspace),
                    workspaceBytes, gpu.stream), "cublasLtMatmul");
            gpu.synchronize();
            MemorySegment hd = arena.allocate(JAVA_SHORT, (long) M * N);
            gpu.download(hd, dd);

            for (int i = 0; i < M; i++) {
                for (int j = 0; j < N; j++) {
                    double ref = 0;
                    for (int k = 0; k < K; k++) {
                        ref += (double) a[i * K + k] * b[k * N + j];
                    }
                    float got = fromBf16(hd.getAtIndex(JAVA_SHORT, (long) i * N + j));
                    // bf16 output: 8 bits of mantissa, so ~0.4% relative rounding, plus float accumulation.
                    assertEquals(ref, got, 0.01 * Math.max(1, Math.abs(ref)), "D[" + i + "][" + j + "]");
                }
            }

            CublasStatus.check(CublasLt.cublasLtMatmulPreferenceDestroy(pref.get(ADDRESS, 0)), "destroy preference");
            for (MemorySegment l : new MemorySegment[] {bt, at, dt}) {
                CublasStatus.check(CublasLt.cublasLtMatrixLayoutDestroy(l), "cublasLtMatrixLayoutDestroy");
            }
            CublasStatus.check(CublasLt.cublasLtMatmulDescDestroy(desc.get(ADDRESS, 0)), "cublasLtMatmulDescDestroy");
            CublasStatus.check(CublasLt.cublasLtDestroy(lt), "cublasLtDestroy");
            for (long p : new long[] {da, db, dd, workspace}) {
                gpu.free(p);
            }
        }
    }

    private static MemorySegment layout(Arena arena, long rows, long cols, long ld) {
        MemorySegment out = arena.allocate(CublasTypes.cublasLtMatrixLayout_t);
        CublasStatus.check(CublasLt.cublasLtMatrixLayoutCreate(out, cudaDataType.CUDA_R_16BF, rows, cols, ld),
                "cublasLtMatrixLayoutCreate");
        return out.get(ADDRESS, 0);
    }

    /** float to bfloat16, round to nearest even. */
    static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int rounded = bits + 0x7fff + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    static float fromBf16(short bf) {
        return Float.intBitsToFloat((bf & 0xffff) << 16);
    }
}
