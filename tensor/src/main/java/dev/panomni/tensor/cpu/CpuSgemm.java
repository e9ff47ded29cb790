package dev.panomni.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * Single-precision matrix multiply {@code C = alpha * A B + beta * C} on host memory, in the layout
 * of Goto's algorithm (as in BLIS and OpenBLAS):
 *
 * <pre>
 * for jc in N by NC:
 *   for each group of KC-deep K blocks (as many as the 8 MiB B buffer holds):
 *     pack B[group, jc..] into NR-wide panels                    (parallel over panels)
 *     for each (block of MC rows, chunk of columns), in parallel:
 *       for pc in group by KC:
 *         pack A[ic.., pc..] into MR-tall panels                 (an A micro-panel stays in L1)
 *         for ir in MC by MR:
 *           for jr in chunk by NR:                               (B panels stream from L2/L3)
 *             micro-kernel: C[ir.., jr..] += A panel x B panel, MR x NR accumulators in registers
 * </pre>
 *
 * The micro-kernel keeps MR x 2 vectors of C in registers (8 x 32 floats with 512-bit vectors,
 * 4 x 2 vectors with narrower ones), loads two vectors of the B panel per k and broadcasts one A
 * element per row into fused multiply-adds. Packing reads A and B through arbitrary element strides,
 * so transposed views cost nothing beyond the packing every operand goes through anyway; ragged
 * edges are zero-padded in the panels and written through a scratch tile.
 *
 * <p>Results do not depend on the number of threads: each C element accumulates its k range in the
 * same order whatever the split.
 */
final class CpuSgemm {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Floats per vector. */
    private static final int L = F.length();
    /** Columns of the micro-tile: two vectors. */
    static final int NR = 2 * L;
    /** Rows of the micro-tile: 8 where there are 32 vector registers (AVX-512), else 4 (AVX2 has 16). */
    static final int MR = F.vectorBitSize() >= 512 ? 8 : 4;
    /** MR floats: one k step of an A micro-panel. */
    private static final VectorSpecies<Float> FM = VectorSpecies.of(float.class, VectorShape.forBitSize(MR * Float.SIZE));
    /**
     * Largest depth of a packed block. Deep blocks mean fewer passes over C, whose tiles miss the
     * caches; measured on Zen 4, 512 beat 256 and 384 by a few percent.
     */
    static final int KC = 512;
    /** Rows of a packed A block (MC x KC floats = 256 KiB, in L2). */
    static final int MC = 128;
    /** Largest width of a packed B block (KC x NC floats = 4 MiB, in L3). */
    static final int NC = 2048;
    /** Size of the B packing buffer of a calling thread (8 MiB). */
    private static final int B_BUFFER_FLOATS = 1 << 21;
    /** Parallel work is cut into about this many tasks per thread. */
    private static final int TASKS_PER_THREAD = 8;
    /** Below this many flops per block the work runs on the calling thread. */
    private static final long PARALLEL_FLOPS = 1L << 22;

    private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);

    private CpuSgemm() {
    }

    /** A strided matrix over host floats: element (i, j) at float index {@code off + i * rs + j * cs}. */
    record Matrix(MemorySegment seg, long off, long rs, long cs) {
    }

    /** Per-thread packing buffers, grown on demand and kept for the thread's life. */
    private static final class Workspace {
        float[] a = new float[0];
        float[] b = new float[0];
        final float[] tile = new float[MR * NR];
        final float[] line = new float[KC];
        final float[] panel = new float[NR * KC];

        float[] a(int n) {
            if (a.length < n) {
                a = new float[n];
            }
            return a;
        }

        float[] b(int n) {
            if (b.length < n) {
                b = new float[n];
            }
            return b;
        }
    }

    /**
     * {@code C = alpha * A B + beta * C} with A [m, k], B [k, n] strided and C row-major with row
     * stride {@code ldc} (floats) from float index {@code cOff}. {@code beta == 0} ignores C's prior
     * contents (NaN included). {@code parallel} lets the work spread over {@link CpuParallel}.
     */
    static void multiply(int m, int n, int k, float alpha, Matrix a, Matrix b, float beta,
                         MemorySegment c, long cOff, long ldc, boolean parallel) {
        if (m <= 0 || n <= 0) {
            return;
        }
        if (k == 0 || alpha == 0f) {
            scale(m, n, beta, c, cOff, ldc);
            return;
        }
        if (beta != 0f && beta != 1f) {
            scale(m, n, beta, c, cOff, ldc);
        }
        boolean overwriteFirst = beta == 0f;
        Workspace ws = WORKSPACE.get();
        int mBlocks = ceilDiv(m, MC);
        // Blocks of equal size rather than full blocks and a sliver: K = 600 runs as 2 x 300.
        int kBlocks = ceilDiv(k, KC);
        int kcMax = ceilDiv(k, kBlocks);
        int ncMax = ceilDiv(ceilDiv(n, ceilDiv(n, NC)), NR) * NR;
        int blockFloats = kcMax * ncMax;
        // As many K blocks of B as the packing buffer holds are packed in one parallel pass, then
        // each task runs its rows through all of them: two fork-joins per group, not per K block,
        // which matters when other processes share the cores and a descheduled thread stalls a join.
        int group = Math.max(1, Math.min(kBlocks, B_BUFFER_FLOATS / blockFloats));
        for (int jc = 0; jc < n; jc += ncMax) {
            int nc = Math.min(ncMax, n - jc);
            int panelsB = ceilDiv(nc, NR);
            int j0 = jc;
            for (int g0 = 0; g0 < kBlocks; g0 += group) {
                int gBlocks = Math.min(group, kBlocks - g0);
                int kb0 = g0;
                boolean par = parallel && CpuParallel.threads() > 1
                        && 2L * m * nc * Math.min(k, (long) gBlocks * kcMax) >= PARALLEL_FLOPS;
                float[] bp = ws.b(gBlocks * blockFloats);
                runTasks(gBlocks * panelsB, par, u -> {
                    int kb = kb0 + u / panelsB;
                    int p0 = kb * kcMax;
                    packB(b, p0, Math.min(kcMax, k - p0), j0, nc, bp, (kb - kb0) * blockFloats, u % panelsB,
                            WORKSPACE.get().panel);
                });
                // Split columns too when there are few row blocks: small tasks keep every thread
                // busy, also when another process takes a core away for a while.
                int want = par ? TASKS_PER_THREAD * CpuParallel.threads() : 1;
                int nChunks = Math.max(1, Math.min(ceilDiv(want, mBlocks), panelsB / 4));
                int chunkPanels = ceilDiv(panelsB, nChunks);
                int chunks = ceilDiv(panelsB, chunkPanels);
                runTasks(mBlocks * chunks, par, t -> {
                    Workspace w = WORKSPACE.get();
                    int i0 = (t / chunks) * MC;
                    int mc = Math.min(MC, m - i0);
                    int q0 = (t % chunks) * chunkPanels;
                    int q1 = Math.min(panelsB, q0 + chunkPanels);
                    for (int kb = kb0; kb < kb0 + gBlocks; kb++) {
                        int p0 = kb * kcMax;
                        int kc = Math.min(kcMax, k - p0);
                        float[] ap = w.a(ceilDiv(mc, MR) * MR * kc);
                        packA(a, i0, mc, p0, kc, ap, w.line);
                        macroKernel(ap, mc, bp, (kb - kb0) * blockFloats, q0, q1, nc, kc, c,
                                cOff + (long) i0 * ldc + j0, ldc, alpha, overwriteFirst && kb == 0, w.tile);
                    }
                });
            }
        }
    }

    /**
     * Runs tasks [0, count), in parallel when asked: one job per worker, each pulling the next task
     * index from a shared counter until none is left, so a thread that the OS deschedules holds up
     * at most the one task it is in.
     */
    private static void runTasks(int count, boolean parallel, IntConsumer task) {
        if (!parallel || count <= 1) {
            for (int t = 0; t < count; t++) {
                task.accept(t);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        CpuParallel.forRange(Math.min(count, CpuParallel.threads()), 1, (s, e) -> {
            for (long j = s; j < e; j++) {
                for (int t = next.getAndIncrement(); t < count; t = next.getAndIncrement()) {
                    task.accept(t);
                }
            }
        });
    }

    /**
     * Runs the micro-kernel over B panels [q0, q1) against all of the packed A block. Rows outside,
     * columns inside: the A micro-panel stays in L1 while B panels stream, and C is visited row-strip
     * by row-strip, which the hardware prefetchers follow (the other order measured 8% slower).
     */
    private static void macroKernel(float[] ap, int mc, float[] bp, int bpOff, int q0, int q1, int nc, int kc,
                                    MemorySegment c, long cOff, long ldc, float alpha, boolean overwrite, float[] tile) {
        for (int i = 0; i < mc; i += MR) {
            for (int q = q0; q < q1; q++) {
                tile(ap, mc, bp, bpOff + q * NR * kc, q, i, nc, kc, c, cOff, ldc, alpha, overwrite, tile);
            }
        }
    }

    /** The MR x NR tile at rows i, panel q of the block; ragged tiles go through the scratch tile. */
    private static void tile(float[] ap, int mc, float[] bp, int bo, int q, int i, int nc, int kc, MemorySegment c,
                             long cOff, long ldc, float alpha, boolean overwrite, float[] tile) {
        int col0 = q * NR;
        int cols = Math.min(NR, nc - col0);
        int rows = Math.min(MR, mc - i);
        long cIndex = cOff + (long) i * ldc + col0;
        microKernel(kc, ap, i * kc, bp, bo, tile);
        if (rows == MR && cols == NR) {
            storeTile(tile, c, cIndex * Float.BYTES, ldc * Float.BYTES, alpha, overwrite);
        } else {
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < cols; j++) {
                    long at = cIndex + (long) r * ldc + j;
                    float v = alpha * tile[r * NR + j];
                    c.setAtIndex(FLOAT, at, overwrite ? v : c.getAtIndex(FLOAT, at) + v);
                }
            }
        }
    }

    /**
     * The product of an A micro-panel ({@code kc} steps of MR floats from {@code ao}) and a B
     * micro-panel ({@code kc} steps of NR floats from {@code bo}) into {@code tile} [MR, NR]. The
     * kernels only compute; C is written by {@link #storeTile}, which keeps each method small enough
     * for C2 to inline every vector operation (a kernel that also held both store variants exceeded
     * the inlining budget after a recompile and ran 100 times slower).
     */
    private static void microKernel(int kc, float[] ap, int ao, float[] bp, int bo, float[] tile) {
        if (MR == 8) {
            kernel8(kc, ap, ao, bp, bo, tile);
        } else {
            kernel4(kc, ap, ao, bp, bo, tile);
        }
    }

    /** {@code C = alpha * tile} ({@code overwrite}) or {@code C += alpha * tile} for a full MR x NR tile; offsets in bytes. */
    private static void storeTile(float[] tile, MemorySegment c, long cb, long ldcb, float alpha, boolean overwrite) {
        FloatVector al = FloatVector.broadcast(F, alpha);
        for (int r = 0; r < MR; r++) {
            long row = cb + r * ldcb;
            for (int j = 0; j < NR; j += L) {
                FloatVector v = FloatVector.fromArray(F, tile, r * NR + j);
                long at = row + (long) j * Float.BYTES;
                if (overwrite) {
                    v.mul(al).intoMemorySegment(c, at, LE);
                } else {
                    v.fma(al, FloatVector.fromMemorySegment(F, c, at, LE)).intoMemorySegment(c, at, LE);
                }
            }
        }
    }

    /** The 8-row micro-kernel; see {@link #microKernel}. */
    private static void kernel8(int kc, float[] ap, int ao, float[] bp, int bo, float[] tile) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int k = 0; k < kc; k++) {
            // Indices affine in k, so C2 hoists the range checks out of the loop.
            int a = ao + k * 8;
            int b = bo + k * NR;
            FloatVector b0 = FloatVector.fromArray(F, bp, b);
            FloatVector b1 = FloatVector.fromArray(F, bp, b + L);
            FloatVector x;
            x = FloatVector.broadcast(F, ap[a + 0]);
            c00 = b0.fma(x, c00);
            c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(F, ap[a + 1]);
            c10 = b0.fma(x, c10);
            c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(F, ap[a + 2]);
            c20 = b0.fma(x, c20);
            c21 = b1.fma(x, c21);
            x = FloatVector.broadcast(F, ap[a + 3]);
            c30 = b0.fma(x, c30);
            c31 = b1.fma(x, c31);
            x = FloatVector.broadcast(F, ap[a + 4]);
            c40 = b0.fma(x, c40);
            c41 = b1.fma(x, c41);
            x = FloatVector.broadcast(F, ap[a + 5]);
            c50 = b0.fma(x, c50);
            c51 = b1.fma(x, c51);
            x = FloatVector.broadcast(F, ap[a + 6]);
            c60 = b0.fma(x, c60);
            c61 = b1.fma(x, c61);
            x = FloatVector.broadcast(F, ap[a + 7]);
            c70 = b0.fma(x, c70);
            c71 = b1.fma(x, c71);
        }
        c00.intoArray(tile, 0 * NR);
        c01.intoArray(tile, 0 * NR + L);
        c10.intoArray(tile, 1 * NR);
        c11.intoArray(tile, 1 * NR + L);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + L);
        c60.intoArray(tile, 6 * NR);
        c61.intoArray(tile, 6 * NR + L);
        c70.intoArray(tile, 7 * NR);
        c71.intoArray(tile, 7 * NR + L);
    }

    /** The 4-row micro-kernel; see {@link #microKernel}. */
    private static void kernel4(int kc, float[] ap, int ao, float[] bp, int bo, float[] tile) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        for (int k = 0; k < kc; k++) {
            // Indices affine in k, so C2 hoists the range checks out of the loop.
            int a = ao + k * 4;
            int b = bo + k * NR;
            FloatVector b0 = FloatVector.fromArray(F, bp, b);
            FloatVector b1 = FloatVector.fromArray(F, bp, b + L);
            FloatVector x;
            x = FloatVector.broadcast(F, ap[a + 0]);
            c00 = b0.fma(x, c00);
            c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(F, ap[a + 1]);
            c10 = b0.fma(x, c10);
            c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(F, ap[a + 2]);
            c20 = b0.fma(x, c20);
            c21 = b1.fma(x, c21);
            x = FloatVector.broadcast(F, ap[a + 3]);
            c30 = b0.fma(x, c30);
            c31 = b1.fma(x, c31);
        }
        c00.intoArray(tile, 0 * NR);
        c01.intoArray(tile, 0 * NR + L);
        c10.intoArray(tile, 1 * NR);
        c11.intoArray(tile, 1 * NR + L);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + L);
    }


    /**
     * Packs rows [i0, i0 + mc) x columns [p0, p0 + kc) of A into MR-row panels: panel p holds, for
     * each k, the MR elements A[i0 + p * MR + r, p0 + k] (zeros past row mc).
     */
    static void packA(Matrix a, int i0, int mc, int p0, int kc, float[] ap, float[] line) {
        MemorySegment s = a.seg();
        long rs = a.rs();
        long cs = a.cs();
        for (int q = 0; q < mc; q += MR) {
            int rows = Math.min(MR, mc - q);
            int dst = q * kc;
            long base = a.off() + (i0 + q) * rs + p0 * cs;
            if (cs == 1) {
                // Bulk-copy each row to the heap, then interleave: a plain array loop, which C2
                // compiles far tighter than element reads from the segment.
                for (int r = 0; r < rows; r++) {
                    MemorySegment.copy(s, FLOAT, (base + r * rs) * Float.BYTES, line, 0, kc);
                    for (int k = 0; k < kc; k++) {
                        ap[dst + k * MR + r] = line[k];
                    }
                }
            } else if (rs == 1 && rows == MR) {
                // A transposed view: the MR elements of each k are adjacent, one short vector.
                for (int k = 0; k < kc; k++) {
                    FloatVector.fromMemorySegment(FM, s, (base + k * cs) * Float.BYTES, LE).intoArray(ap, dst + k * MR);
                }
            } else {
                for (int r = 0; r < rows; r++) {
                    for (int k = 0; k < kc; k++) {
                        ap[dst + k * MR + r] = s.getAtIndex(FLOAT, base + r * rs + k * cs);
                    }
                }
            }
            for (int r = rows; r < MR; r++) {
                for (int k = 0; k < kc; k++) {
                    ap[dst + k * MR + r] = 0f;
                }
            }
        }
    }

    /**
     * Packs panel q of rows [p0, p0 + kc) x columns [j0, j0 + nc) of B to {@code bp} from
     * {@code bpOff + q * NR * kc}: for each k, the NR elements B[p0 + k, j0 + q * NR + j] (zeros
     * past column nc). {@code scratch} holds NR x KC floats.
     */
    static void packB(Matrix b, int p0, int kc, int j0, int nc, float[] bp, int bpOff, int q, float[] scratch) {
        MemorySegment s = b.seg();
        long rs = b.rs();
        long cs = b.cs();
        int col0 = q * NR;
        int cols = Math.min(NR, nc - col0);
        int dst = bpOff + q * NR * kc;
        long base = b.off() + p0 * rs + (j0 + col0) * cs;
        if (cs == 1 && cols == NR) {
            for (int k = 0; k < kc; k++) {
                long src = (base + k * rs) * Float.BYTES;
                FloatVector.fromMemorySegment(F, s, src, LE).intoArray(bp, dst + k * NR);
                FloatVector.fromMemorySegment(F, s, src + (long) L * Float.BYTES, LE).intoArray(bp, dst + k * NR + L);
            }
            return;
        }
        if (rs == 1) {
            // B a transposed view (a linear layer's weight): each column is contiguous. Copy the
            // panel's columns to the heap, then transpose writing bp in order (column by column,
            // the writes scattered over a panel larger than L1 and cost 3x more).
            for (int j = 0; j < cols; j++) {
                MemorySegment.copy(s, FLOAT, (base + j * cs) * Float.BYTES, scratch, j * kc, kc);
            }
            if (cols == NR) {
                int[] gather = gatherMap(kc);
                for (int k = 0; k < kc; k++) {
                    int o = dst + k * NR;
                    FloatVector.fromArray(F, scratch, k, gather, 0).intoArray(bp, o);
                    FloatVector.fromArray(F, scratch, k + L * kc, gather, 0).intoArray(bp, o + L);
                }
                return;
            }
            for (int k = 0; k < kc; k++) {
                int o = dst + k * NR;
                for (int j = 0; j < cols; j++) {
                    bp[o + j] = scratch[j * kc + k];
                }
            }
        } else {
            for (int k = 0; k < kc; k++) {
                long src = base + k * rs;
                for (int j = 0; j < cols; j++) {
                    bp[dst + k * NR + j] = s.getAtIndex(FLOAT, src + j * cs);
                }
            }
        }
        for (int k = 0; k < kc; k++) {
            for (int j = cols; j < NR; j++) {
                bp[dst + k * NR + j] = 0f;
            }
        }
    }

    private static final ThreadLocal<int[]> GATHER = new ThreadLocal<>();

    /** Lane offsets {0, kc, 2 kc, ...}: one vector reads element k of L consecutive columns. */
    private static int[] gatherMap(int kc) {
        int[] g = GATHER.get();
        if (g == null || g[1] != kc) {
            g = new int[L];
            for (int j = 0; j < L; j++) {
                g[j] = j * kc;
            }
            GATHER.set(g);
        }
        return g;
    }

    /** {@code C *= beta} over the m x n block ({@code beta == 0} writes zeros, whatever C held). */
    private static void scale(int m, int n, float beta, MemorySegment c, long cOff, long ldc) {
        for (int i = 0; i < m; i++) {
            long row = cOff + i * ldc;
            if (beta == 0f) {
                c.asSlice(row * Float.BYTES, (long) n * Float.BYTES).fill((byte) 0);
                continue;
            }
            for (int j = 0; j < n; j++) {
                c.setAtIndex(FLOAT, row + j, beta * c.getAtIndex(FLOAT, row + j));
            }
        }
    }

    private static int ceilDiv(int x, int y) {
        return (x + y - 1) / y;
    }
}
