package dev.panomni.kernels.launch;

import dev.panomni.tensor.ops.ReductionGroups;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Typed launchers for the kernels of {@code kernels/cuda/reduction.cu}. Every split of a sum (thread
 * or block per output, chunks, partial buffers) is chosen from the shapes alone, so a sum gives the
 * same bits on every run.
 */
public final class ReductionLaunchers {
    private static final int THREADS = 256;
    /** Reductions up to this length run one thread per output. */
    private static final long SHORT_REDUCTION = 64;
    /** Elements one block sums when an output is split into chunks. */
    private static final long CHUNK = 1 << 16;
    /** Column tiles at or above which the rows of a column sum are not split. */
    private static final long ENOUGH_TILES = 128;
    private static final long MIN_ROWS_PER_CHUNK = 64;
    private static final FloatKernel SUM_THREAD = new FloatKernel("reduction", "sum_thread");
    private static final FloatKernel SUM_BLOCK = new FloatKernel("reduction", "sum_block");
    private static final FloatKernel SUM_COLS = new FloatKernel("reduction", "sum_cols");
    private static final FloatKernel SUM_PARTIALS = new FloatKernel("reduction", "sum_partials");
    private static final FloatKernel MAX_ROWS = new FloatKernel("reduction", "max_rows");
    private static final FloatKernel MAX_LINES = new FloatKernel("reduction", "max_lines");
    private static final FloatKernel MAX_BACKWARD = new FloatKernel("reduction", "max_backward");

    private ReductionLaunchers() {
    }


    private static long product(long[] v) {
        long p = 1;
        for (long x : v) {
            p *= x;
        }
        return p;
    }

    /** Bytes of the fp64 partial buffer {@link #sum} needs for these shapes (0 when none). */
    public static long sumWorkspaceBytes(long[] shape, boolean[] reduce) {
        Plan p = plan(shape, reduce);
        return p.chunks > 1 ? p.partials * 8 : 0;
    }

    private record Plan(ReductionGroups g, int kind, int chunks, long perChunk, long partials) {
        static final int THREAD = 0;
        static final int BLOCK = 1;
        static final int COLS = 2;
    }

    private static Plan plan(long[] shape, boolean[] reduce) {
        ReductionGroups g = ReductionGroups.of(shape, reduce);
        long nOut = product(g.keptSize());
        long perOut = product(g.redSize());
        for (long s : shape) {
            if (s == 0) {
                return new Plan(g, Plan.THREAD, 1, 0, 0);
            }
        }
        if (g.innermostReduced()) {
            if (perOut <= SHORT_REDUCTION) {
                return new Plan(g, Plan.THREAD, 1, perOut, 0);
            }
            int chunks = (int) Math.min(Integer.MAX_VALUE, (perOut + CHUNK - 1) / CHUNK);
            return new Plan(g, Plan.BLOCK, chunks, CHUNK, nOut * chunks);
        }
        int nk = g.keptSize().length;
        long cols = g.keptSize()[nk - 1];
        long outer = nOut / cols;
        long rows = perOut;
        long tiles = outer * ((cols + THREADS - 1) / THREADS);
        long chunks = 1;
        if (tiles < ENOUGH_TILES) {
            chunks = Math.max(1, Math.min((rows + MIN_ROWS_PER_CHUNK - 1) / MIN_ROWS_PER_CHUNK, ENOUGH_TILES * 4 / tiles));
        }
        long rowsPer = (rows + chunks - 1) / chunks;
        chunks = Math.max(1, (rows + rowsPer - 1) / rowsPer);
        return new Plan(g, Plan.COLS, (int) chunks, rowsPer, outer * chunks * cols);
    }

    /**
     * {@code out = scale * sum of x over the flagged dims}; x and out contiguous, one float dtype.
     *
     * @param partial device scratch of at least {@link #sumWorkspaceBytes} bytes (any dtype), or null when that is 0
     */
    public static void sum(CudaStream s, Tensor x, boolean[] reduce, double scale, Tensor out, Tensor partial) {
        long nOut = out.numel();
        if (nOut == 0) {
            return;
        }
        DType dt = x.dtype();
        Plan p = plan(x.shape(), reduce);
        ReductionGroups g = p.g;
        String op = "ReductionKernels.sum " + x.describe() + " reduce " + Arrays.toString(reduce);
        switch (p.kind) {
            case Plan.THREAD -> {
                try (KernelArgs a = KernelArgs.open()) {
                    a.ptr(x).strided(g.keptSize(), g.keptStride()).strided(g.redSize(), g.redStride()).i64(nOut).i64(p.perChunk)
                            .f64(scale).ptr(out);
                    SUM_THREAD.of(dt).launch(s, LaunchConfig.gridStride(s.device(), nOut, THREADS), a, op);
                }
            }
            case Plan.BLOCK -> {
                long perOut = product(g.redSize());
                try (KernelArgs a = KernelArgs.open()) {
                    a.ptr(x).strided(g.keptSize(), g.keptStride()).strided(g.redSize(), g.redStride()).i64(perOut)
                            .i64(p.perChunk).i32(p.chunks).f64(scale).ptr(out).ptrOrNull(p.chunks > 1 ? partial : null);
                    SUM_BLOCK.of(dt).launch(s, LaunchConfig.linear(nOut * p.chunks, THREADS), a, op);
                }
                if (p.chunks > 1) {
                    partials(s, partial, nOut, 1, p.chunks, scale, out, op);
                }
            }
            default -> {
                int nk = g.keptSize().length;
                long cols = g.keptSize()[nk - 1];
                long outer = nOut / cols;
                long rows = product(g.redSize());
                long colBlocks = (cols + THREADS - 1) / THREADS;
                try (KernelArgs a = KernelArgs.open()) {
                    a.ptr(x).strided(Arrays.copyOf(g.keptSize(), nk - 1), Arrays.copyOf(g.keptStride(), nk - 1))
                            .strided(g.redSize(), g.redStride()).i64(cols).i64(rows).i64(p.perChunk).i32(p.chunks)
                            .f64(scale).ptr(out).ptrOrNull(p.chunks > 1 ? partial : null);
                    SUM_COLS.of(dt).launch(s, LaunchConfig.linear(colBlocks * outer * p.chunks, THREADS), a, op);
                }
                if (p.chunks > 1) {
                    partials(s, partial, outer, cols, p.chunks, scale, out, op);
                }
            }
        }
    }

    private static void partials(CudaStream s, Tensor partial, long nOut, long inner, int chunks, double scale,
                                 Tensor out, String op) {
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(partial).i64(nOut).i64(inner).i32(chunks).f64(scale).ptr(out);
            SUM_PARTIALS.of(out.dtype()).launch(s, LaunchConfig.gridStride(s.device(), nOut * inner, THREADS), a, op);
        }
    }

    /** Maximum and first argmax along dim of contiguous x; values or indices may be null. */
    public static void max(CudaStream s, Tensor x, int dim, Tensor values, Tensor indices) {
        long[] shape = x.shape();
        long n = shape[dim];
        long inner = 1;
        for (int d = dim + 1; d < shape.length; d++) {
            inner *= shape[d];
        }
        long outer = x.numel() / Math.max(1, n * inner);
        if (outer * inner == 0 || n == 0) {
            return;
        }
        String op = "ReductionKernels.max " + x.describe() + " dim " + dim;
        try (KernelArgs a = KernelArgs.open()) {
            if (inner == 1 && n > SHORT_REDUCTION) {
                a.ptr(x).i64(outer).i64(n).ptrOrNull(values).ptrOrNull(indices);
                MAX_ROWS.of(x.dtype()).launch(s, LaunchConfig.linear(outer, THREADS), a, op);
            } else {
                a.ptr(x).i64(outer).i64(n).i64(inner).ptrOrNull(values).ptrOrNull(indices);
                MAX_LINES.of(x.dtype()).launch(s, LaunchConfig.gridStride(s.device(), outer * inner, THREADS), a, op);
            }
        }
    }

    /** gradIn (x's shape) = gradOut at the argmax along dim, 0 elsewhere. */
    public static void maxBackward(CudaStream s, Tensor gradOut, Tensor indices, int dim, Tensor gradIn) {
        long[] shape = gradIn.shape();
        long n = shape[dim];
        long inner = 1;
        for (int d = dim + 1; d < shape.length; d++) {
            inner *= shape[d];
        }
        long total = gradIn.numel();
        if (total == 0) {
            return;
        }
        long outer = total / (n * inner);
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(gradOut).ptr(indices).i64(outer).i64(n).i64(inner).ptr(gradIn);
            MAX_BACKWARD.of(gradIn.dtype()).launch(s, LaunchConfig.gridStride(s.device(), total, THREADS), a,
                    "ReductionKernels.maxBackward " + gradIn.describe());
        }
    }
}
