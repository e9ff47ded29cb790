package dev.panomni.tensor.cpu;

import dev.panomni.tensor.ops.ReductionGroups;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.ReductionKernels;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.panomni.tensor.cpu.VectorMath.D;
import static dev.panomni.tensor.cpu.VectorMath.L;
import static dev.panomni.tensor.cpu.VectorMath.load;
import static dev.panomni.tensor.cpu.VectorMath.mask;

/**
 * CPU sums and maxima over dims, F32 values accumulated in float64.
 *
 * <p>A sum first merges neighbouring dims that are both reduced or both kept (the input is
 * contiguous, so merged dims stay regular), which leaves one of two shapes of work:
 * <ul>
 * <li>the innermost dim is reduced: each output is a sum of contiguous runs (a dot-product-like
 *     loop per run);</li>
 * <li>the innermost dim is kept: each output row is a sum of contiguous rows, accumulated a block
 *     of columns at a time (vectorized across the kept dim).</li>
 * </ul>
 * Work is cut into pieces whose boundaries depend only on the shapes, partial sums are kept per
 * piece and added in piece order, so the result is the same for any number of threads.
 */
final class CpuReductionKernels implements ReductionKernels {
    /** Elements summed by one piece of work. */
    private static final long CHUNK = 1 << 15;
    /** Kept columns one piece accumulates when the innermost dim is kept. */
    private static final int COLUMN_BLOCK = 2048;
    /** Pieces to aim for when there are few outputs and long reductions. */
    private static final long TARGET_PIECES = 256;

    @Override
    public void sum(Tensor x, boolean[] reduce, double scale, Tensor out) {
        VectorMath.requireContiguousF32("sum", x, out);
        MemorySegment xs = x.storage().segment();
        MemorySegment os = out.storage().segment();
        long xo = x.offset();
        long oo = out.offset();
        long nOut = out.numel();
        if (nOut == 0) {
            return;
        }
        if (x.numel() == 0) {
            float v = (float) (0.0 * scale);
            for (long i = 0; i < nOut; i++) {
                os.setAtIndex(ValueLayout.JAVA_FLOAT, oo + i, v);
            }
            return;
        }
        ReductionGroups g = ReductionGroups.of(x.shape(), reduce);
        if (g.keptSize().length == 0 && g.redSize().length == 0) {
            // A single element.
            os.setAtIndex(ValueLayout.JAVA_FLOAT, oo, (float) (xs.getAtIndex(ValueLayout.JAVA_FLOAT, xo) * scale));
        } else if (g.innermostReduced()) {
            sumInnerRuns(g, xs, xo, os, oo, scale);
        } else {
            sumInnerColumns(g, xs, xo, os, oo, scale);
        }
    }


    /** Offset of the element with row-major linear index {@code linear} over dims {@code size}/{@code stride}. */
    private static long offset(long linear, long[] size, long[] stride, int count) {
        long off = 0;
        for (int i = count - 1; i >= 0; i--) {
            long s = size[i];
            off += (linear % s) * stride[i];
            linear /= s;
        }
        return off;
    }

    private static long product(long[] v, int count) {
        long p = 1;
        for (int i = 0; i < count; i++) {
            p *= v[i];
        }
        return p;
    }

    /** Innermost dim reduced: output o sums runs of {@code run} contiguous elements. */
    private static void sumInnerRuns(ReductionGroups g, MemorySegment xs, long xo, MemorySegment os, long oo, double scale) {
        int nr = g.redSize().length;
        long run = g.redSize()[nr - 1];
        long runs = product(g.redSize(), nr - 1);
        long perOut = run * runs;
        long nOut = product(g.keptSize(), g.keptSize().length);
        long chunks = (perOut + CHUNK - 1) / CHUNK;
        // One output's reduction, elements [from, to) in its own row-major order.
        SpanSum span = (o, from, to) -> {
            long base = xo + offset(o, g.keptSize(), g.keptStride(), g.keptSize().length);
            double acc = 0;
            while (from < to) {
                long r = from / run;
                long pos = from % run;
                long len = Math.min(run - pos, to - from);
                acc += VectorMath.sum(xs, base + offset(r, g.redSize(), g.redStride(), nr - 1) + pos, len);
                from += len;
            }
            return acc;
        };
        if (chunks == 1) {
            CpuParallel.forRange(nOut, Math.max(1, CHUNK / perOut), (s, e) -> {
                for (long o = s; o < e; o++) {
                    os.setAtIndex(ValueLayout.JAVA_FLOAT, oo + o, (float) (span.sum(o, 0, perOut) * scale));
                }
            });
            return;
        }
        double[] partial = new double[Math.toIntExact(nOut * chunks)];
        CpuParallel.forRange(nOut * chunks, 1, (s, e) -> {
            for (long w = s; w < e; w++) {
                long o = w / chunks;
                long c = w % chunks;
                partial[(int) w] = span.sum(o, c * CHUNK, Math.min(perOut, (c + 1) * CHUNK));
            }
        });
        for (long o = 0; o < nOut; o++) {
            double acc = 0;
            for (long c = 0; c < chunks; c++) {
                acc += partial[(int) (o * chunks + c)];
            }
            os.setAtIndex(ValueLayout.JAVA_FLOAT, oo + o, (float) (acc * scale));
        }
    }

    @FunctionalInterface
    private interface SpanSum {
        double sum(long output, long from, long to);
    }

    /**
     * Innermost dim kept (width {@code cols}): output row o is the sum of the rows selected by the
     * reduced dims; each piece accumulates one block of columns over a range of those rows.
     */
    private static void sumInnerColumns(ReductionGroups g, MemorySegment xs, long xo, MemorySegment os, long oo, double scale) {
        int nk = g.keptSize().length;
        long cols = g.keptSize()[nk - 1];
        long outer = product(g.keptSize(), nk - 1);
        int nr = g.redSize().length;
        long rows = product(g.redSize(), nr);
        int block = (int) Math.min(cols, COLUMN_BLOCK);
        long colBlocks = (cols + block - 1) / block;
        long tiles = outer * colBlocks;
        // Split the rows only when there are few tiles; the split depends on shapes alone.
        long minRows = Math.max(1, CHUNK / block);
        long rowChunks = tiles >= TARGET_PIECES / 4 ? 1
                : Math.max(1, Math.min((rows + minRows - 1) / minRows, TARGET_PIECES / tiles));
        long rowsPer = (rows + rowChunks - 1) / rowChunks;
        long pieces = tiles * rowChunks;
        double[] partial = rowChunks == 1 ? null : new double[Math.toIntExact(pieces * block)];
        CpuParallel.forRange(pieces, 1, (s, e) -> {
            double[] acc = new double[block + L];
            for (long w = s; w < e; w++) {
                long tile = w / rowChunks;
                long rc = w % rowChunks;
                long o = tile / colBlocks;
                long c0 = (tile % colBlocks) * block;
                int width = (int) Math.min(block, cols - c0);
                Arrays.fill(acc, 0.0);
                long base = xo + offset(o, g.keptSize(), g.keptStride(), nk - 1) + c0;
                long r1 = Math.min(rows, (rc + 1) * rowsPer);
                long r = rc * rowsPer;
                for (; r + 4 <= r1; r += 4) {
                    addRows(xs, base + offset(r, g.redSize(), g.redStride(), nr),
                            base + offset(r + 1, g.redSize(), g.redStride(), nr),
                            base + offset(r + 2, g.redSize(), g.redStride(), nr),
                            base + offset(r + 3, g.redSize(), g.redStride(), nr), acc, width);
                }
                for (; r < r1; r++) {
                    addRow(xs, base + offset(r, g.redSize(), g.redStride(), nr), acc, width);
                }
                if (partial == null) {
                    long dst = oo + o * cols + c0;
                    for (int j = 0; j < width; j++) {
                        os.setAtIndex(ValueLayout.JAVA_FLOAT, dst + j, (float) (acc[j] * scale));
                    }
                } else {
                    System.arraycopy(acc, 0, partial, (int) (w * block), width);
                }
            }
        });
        if (partial != null) {
            for (long tile = 0; tile < tiles; tile++) {
                long o = tile / colBlocks;
                long c0 = (tile % colBlocks) * block;
                int width = (int) Math.min(block, cols - c0);
                for (int j = 0; j < width; j++) {
                    double a = 0;
                    for (long rc = 0; rc < rowChunks; rc++) {
                        a += partial[(int) ((tile * rowChunks + rc) * block + j)];
                    }
                    os.setAtIndex(ValueLayout.JAVA_FLOAT, oo + o * cols + c0 + j, (float) (a * scale));
                }
            }
        }
    }

    /**
     * {@link #addRow} for four rows, adding them to acc in row order (the same float64 additions
     * as four calls) while acc stays in registers.
     */
    private static void addRows(MemorySegment xs, long at0, long at1, long at2, long at3, double[] acc, int width) {
        int half = D.length();
        for (int j = 0; j < width; j += L) {
            VectorMask<Float> m = mask(j, width);
            FloatVector v0 = load(xs, at0 + j, m);
            FloatVector v1 = load(xs, at1 + j, m);
            FloatVector v2 = load(xs, at2 + j, m);
            FloatVector v3 = load(xs, at3 + j, m);
            DoubleVector lo = DoubleVector.fromArray(D, acc, j)
                    .add(v0.convertShape(VectorOperators.F2D, D, 0))
                    .add(v1.convertShape(VectorOperators.F2D, D, 0))
                    .add(v2.convertShape(VectorOperators.F2D, D, 0))
                    .add(v3.convertShape(VectorOperators.F2D, D, 0));
            DoubleVector hi = DoubleVector.fromArray(D, acc, j + half)
                    .add(v0.convertShape(VectorOperators.F2D, D, 1))
                    .add(v1.convertShape(VectorOperators.F2D, D, 1))
                    .add(v2.convertShape(VectorOperators.F2D, D, 1))
                    .add(v3.convertShape(VectorOperators.F2D, D, 1));
            lo.intoArray(acc, j);
            hi.intoArray(acc, j + half);
        }
    }

    /** {@code acc[0..width) += x[at .. at+width)} in float64; acc has L spare slots past width. */
    private static void addRow(MemorySegment xs, long at, double[] acc, int width) {
        int half = D.length();
        for (int j = 0; j < width; j += L) {
            VectorMask<Float> m = mask(j, width);
            FloatVector v = load(xs, at + j, m);
            DoubleVector.fromArray(D, acc, j).add(v.convertShape(VectorOperators.F2D, D, 0)).intoArray(acc, j);
            DoubleVector.fromArray(D, acc, j + half).add(v.convertShape(VectorOperators.F2D, D, 1))
                    .intoArray(acc, j + half);
        }
    }

    // ------------------------------------------------------------------ max

    @Override
    public void max(Tensor x, int dim, Tensor values, Tensor indices) {
        VectorMath.requireContiguousF32("max", x, values);
        if (indices != null && (indices.dtype() != DType.I64 || !indices.isContiguous())) {
            throw new IllegalStateException("max: CPU kernel needs contiguous I64 indices, got " + indices.describe());
        }
        long[] shape = x.shape();
        long n = shape[dim];
        long inner = 1;
        for (int d = dim + 1; d < shape.length; d++) {
            inner *= shape[d];
        }
        long outer = x.numel() / Math.max(1, n * inner);
        MemorySegment xs = x.storage().segment();
        long xo = x.offset();
        MemorySegment vs = values == null ? null : values.storage().segment();
        long vo = values == null ? 0 : values.offset();
        MemorySegment is = indices == null ? null : indices.storage().segment();
        long io = indices == null ? 0 : indices.offset();
        long innerFinal = inner;
        if (inner == 1) {
            CpuParallel.forRange(outer, Math.max(1, CHUNK / n), (s, e) -> {
                for (long o = s; o < e; o++) {
                    long row = xo + o * n;
                    float best = VectorMath.max(xs, row, n);
                    long at = firstIndexOf(xs, row, n, best);
                    if (vs != null) {
                        vs.setAtIndex(ValueLayout.JAVA_FLOAT, vo + o, best);
                    }
                    if (is != null) {
                        is.setAtIndex(ValueLayout.JAVA_LONG, io + o, at);
                    }
                }
            });
            return;
        }
        // Strided max: walk the reduced dim outermost so each step reads a contiguous run of columns.
        CpuParallel.forRange(outer, Math.max(1, CHUNK / (n * inner)), (s, e) -> {
            float[] best = new float[(int) innerFinal];
            long[] at = new long[(int) innerFinal];
            for (long o = s; o < e; o++) {
                long base = xo + o * n * innerFinal;
                for (int i = 0; i < innerFinal; i++) {
                    best[i] = xs.getAtIndex(ValueLayout.JAVA_FLOAT, base + i);
                    at[i] = 0;
                }
                for (long r = 1; r < n; r++) {
                    long rowAt = base + r * innerFinal;
                    for (int i = 0; i < innerFinal; i++) {
                        float v = xs.getAtIndex(ValueLayout.JAVA_FLOAT, rowAt + i);
                        if (v > best[i] || (v != v && best[i] == best[i])) {
                            best[i] = v;
                            at[i] = r;
                        }
                    }
                }
                for (int i = 0; i < innerFinal; i++) {
                    if (vs != null) {
                        vs.setAtIndex(ValueLayout.JAVA_FLOAT, vo + o * innerFinal + i, best[i]);
                    }
                    if (is != null) {
                        is.setAtIndex(ValueLayout.JAVA_LONG, io + o * innerFinal + i, at[i]);
                    }
                }
            }
        });
    }

    /** Index of the first element equal to {@code target} (or the first NaN when target is NaN). */
    private static long firstIndexOf(MemorySegment xs, long row, long n, float target) {
        boolean nan = Float.isNaN(target);
        for (long k = 0; k < n; k++) {
            float v = xs.getAtIndex(ValueLayout.JAVA_FLOAT, row + k);
            if (nan ? v != v : v == target) {
                return k;
            }
        }
        throw new IllegalStateException("max: maximum " + target + " not found in its row");
    }

    @Override
    public void maxBackward(Tensor gradOut, Tensor indices, int dim, Tensor gradIn) {
        VectorMath.requireContiguousF32("maxBackward", gradOut, gradIn);
        long[] shape = gradIn.shape();
        long n = shape[dim];
        long inner = 1;
        for (int d = dim + 1; d < shape.length; d++) {
            inner *= shape[d];
        }
        long outer = gradIn.numel() / Math.max(1, n * inner);
        MemorySegment gs = gradOut.storage().segment();
        MemorySegment is = indices.storage().segment();
        MemorySegment ds = gradIn.storage().segment();
        long go = gradOut.offset();
        long io = indices.offset();
        long dOff = gradIn.offset();
        long innerFinal = inner;
        CpuParallel.forRange(outer, Math.max(1, CHUNK / Math.max(1, n * inner)), (s, e) -> {
            ds.asSlice((dOff + s * n * innerFinal) * 4, (e - s) * n * innerFinal * 4).fill((byte) 0);
            for (long o = s; o < e; o++) {
                for (long i = 0; i < innerFinal; i++) {
                    long src = o * innerFinal + i;
                    long at = is.getAtIndex(ValueLayout.JAVA_LONG, io + src);
                    ds.setAtIndex(ValueLayout.JAVA_FLOAT, dOff + (o * n + at) * innerFinal + i,
                            gs.getAtIndex(ValueLayout.JAVA_FLOAT, go + src));
                }
            }
        });
    }
}
