package dev.panomni.tensor.cpu;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.HostElements;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.ops.IndexingKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * CPU gather, scatter-add, index-select and index-add. Accumulating kernels split the work over
 * destination elements that no other task touches (positions off the indexed dim, or column chunks
 * of the rows), and each task adds its contributions in ascending source order: the result is the
 * same on every run and thread count, and equals a sequential loop bit for bit.
 */
final class CpuIndexingKernels implements IndexingKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final long GRAIN = 1 << 14;
    /** Column chunk of an index-add row: wide enough to vectorize, small enough to spread rows over cores. */
    private static final long ROW_CHUNK = 512;

    // ---------------------------------------------------------------- gather / scatterAdd

    @Override
    public void gather(Tensor src, int dim, Tensor index, Tensor out) {
        long[] shape = index.shape();
        int r = shape.length;
        long size = src.size(dim);
        long dimStride = src.stride(dim);
        long[] walkStrides = src.strides();
        walkStrides[dim] = 0;
        long innerStride = walkStrides[r - 1];
        MemorySegment ss = src.storage().segment();
        MemorySegment is = index.storage().segment();
        MemorySegment os = out.storage().segment();
        boolean i64 = index.dtype() == DType.I64;
        int bytes = out.dtype().byteSize();
        long io = index.offset();
        long oo = out.offset();
        CpuParallel.forRange(out.numel(), GRAIN, (from, to) -> StridedWalk.walk(shape, walkStrides, src.offset(), null, 0,
                from, to, (lin, oa, ob, len) -> {
                    for (long k = 0; k < len; k++) {
                        long idx = readIndex(is, i64, io + lin + k);
                        if (idx < 0 || idx >= size) {
                            throw outOfRange("gather", idx, dim, size, lin + k, shape);
                        }
                        copyElement(ss, oa + k * innerStride + idx * dimStride, os, oo + lin + k, bytes);
                    }
                }));
    }

    @Override
    public void scatterAdd(Tensor dst, int dim, Tensor index, Tensor src) {
        long[] shape = index.shape();
        int r = shape.length;
        long m = shape[dim];
        long size = dst.size(dim);
        long inner = prod(shape, dim + 1, r);
        // Positions: every coordinate but dim. Distinct positions write distinct dst elements.
        long[] reduced = drop(shape, dim);
        long[] dRed = drop(dst.strides(), dim);
        long[] sRed = drop(src.strides(), dim);
        long dDim = dst.stride(dim);
        long sDim = src.stride(dim);
        long dInner = dRed.length == 0 ? 0 : dRed[dRed.length - 1];
        long sInner = sRed.length == 0 ? 0 : sRed[sRed.length - 1];
        MemorySegment ds = dst.storage().segment();
        MemorySegment ss = src.storage().segment();
        MemorySegment is = index.storage().segment();
        boolean i64 = index.dtype() == DType.I64;
        DType dt = dst.dtype();
        long io = index.offset();
        long positions = Shapes.numel(reduced);
        // Index offset of (position p + k, source step j): runs lie along the last reduced dim, which
        // is inside `inner` unless dim is the last dim (then inner == 1 and positions step by m).
        long idxStepK = inner == 1 ? m : 1;
        CpuParallel.forRange(positions, Math.max(1, GRAIN / Math.max(1, m)), (from, to) ->
                StridedWalk.walk(reduced, dRed, dst.offset(), sRed, src.offset(), from, to, (p, od, os, len) -> {
                    long idxBase = io + (p / inner) * m * inner + p % inner;
                    // Source steps outermost: each dst element still sees ascending j, and rows stream.
                    for (long j = 0; j < m; j++) {
                        for (long k = 0; k < len; k++) {
                            long ip = idxBase + k * idxStepK + j * inner;
                            long idx = readIndex(is, i64, ip);
                            if (idx < 0 || idx >= size) {
                                throw outOfRange("scatterAdd", idx, dim, size, ip - io, shape);
                            }
                            long de = od + k * dInner + idx * dDim;
                            long se = os + k * sInner + j * sDim;
                            if (dt == DType.F32) {
                                ds.setAtIndex(ValueLayout.JAVA_FLOAT, de, ds.getAtIndex(ValueLayout.JAVA_FLOAT, de)
                                        + ss.getAtIndex(ValueLayout.JAVA_FLOAT, se));
                            } else {
                                addElement(ds, de, ss, se, dt);
                            }
                        }
                    }
                }));
    }

    // ---------------------------------------------------------------- indexSelect / indexAdd

    @Override
    public void indexSelect(Tensor src, int dim, Tensor index, Tensor out) {
        long[] shape = src.shape();
        long size = shape[dim];
        long n = index.size(0);
        long outer = prod(shape, 0, dim);
        long inner = prod(shape, dim + 1, shape.length);
        long[] idx = readAndCheck("indexSelect", index, dim, size);
        MemorySegment ss = src.storage().segment();
        MemorySegment os = out.storage().segment();
        int bytes = src.dtype().byteSize();
        long so = src.offset();
        long oo = out.offset();
        CpuParallel.forRange(outer * n, Math.max(1, GRAIN / Math.max(1, inner)), (from, to) -> {
            for (long row = from; row < to; row++) {
                long o = row / n;
                long j = row % n;
                long s = so + (o * size + idx[(int) j]) * inner;
                long d = oo + row * inner;
                if (inner == 1) {
                    copyElement(ss, s, os, d, bytes);
                } else {
                    MemorySegment.copy(ss, s * bytes, os, d * bytes, inner * bytes);
                }
            }
        });
    }

    @Override
    public void indexAdd(Tensor dst, int dim, Tensor index, Tensor src) {
        long[] shape = dst.shape();
        long size = shape[dim];
        long n = index.size(0);
        long outer = prod(shape, 0, dim);
        long inner = prod(shape, dim + 1, shape.length);
        long[] idx = readAndCheck("indexAdd", index, dim, size);
        if (inner == 0 || outer == 0) {
            return;
        }
        MemorySegment ds = dst.storage().segment();
        MemorySegment ss = src.storage().segment();
        DType dt = dst.dtype();
        long dOff = dst.offset();
        long sOff = src.offset();
        long chunks = (inner + ROW_CHUNK - 1) / ROW_CHUNK;
        if (outer * chunks >= 4L * CpuParallel.threads() || n * inner <= GRAIN || size > Integer.MAX_VALUE - 8) {
            // A unit is one column chunk of one outer slice; it owns those dst columns across all rows.
            long work = Math.max(1, n * Math.min(inner, ROW_CHUNK));
            CpuParallel.forRange(outer * chunks, Math.max(1, GRAIN / work), (from, to) -> {
                for (long u = from; u < to; u++) {
                    long o = u / chunks;
                    long c0 = (u % chunks) * ROW_CHUNK;
                    long len = Math.min(ROW_CHUNK, inner - c0);
                    for (long j = 0; j < n; j++) {
                        addRow(ds, dOff + (o * size + idx[(int) j]) * inner + c0, ss, sOff + (o * n + j) * inner + c0,
                                len, dt);
                    }
                }
            });
            return;
        }
        // Too few column units to spread: group the sources by destination row (stable, so each row
        // still adds them in ascending order) and split the destination rows over cores instead.
        int rows = (int) size;
        int[] start = new int[rows + 1];
        for (long v : idx) {
            start[(int) v + 1]++;
        }
        for (int v = 0; v < rows; v++) {
            start[v + 1] += start[v];
        }
        int[] order = new int[idx.length];
        int[] next = java.util.Arrays.copyOf(start, rows);
        for (int j = 0; j < idx.length; j++) {
            order[next[(int) idx[j]]++] = j;
        }
        long perRow = Math.max(1, inner * Math.max(1, n / Math.max(1, size)));
        CpuParallel.forRange(outer * size, Math.max(1, GRAIN / perRow), (from, to) -> {
            for (long row = from; row < to; row++) {
                long o = row / size;
                int v = (int) (row % size);
                for (int q = start[v]; q < start[v + 1]; q++) {
                    addRow(ds, dOff + row * inner, ss, sOff + (o * n + order[q]) * inner, inner, dt);
                }
            }
        });
    }

    private static void addRow(MemorySegment ds, long d, MemorySegment ss, long s, long len, DType dt) {
        if (dt == DType.F32) {
            addRowF32(ds, d, ss, s, len);
        } else {
            for (long k = 0; k < len; k++) {
                addElement(ds, d + k, ss, s + k, dt);
            }
        }
    }

    private static void addRowF32(MemorySegment ds, long d, MemorySegment ss, long s, long len) {
        long k = 0;
        long bound = len - len % F.length();
        for (; k < bound; k += F.length()) {
            FloatVector x = FloatVector.fromMemorySegment(F, ds, (d + k) * 4, LE);
            FloatVector y = FloatVector.fromMemorySegment(F, ss, (s + k) * 4, LE);
            x.add(y).intoMemorySegment(ds, (d + k) * 4, LE);
        }
        for (; k < len; k++) {
            ds.setAtIndex(ValueLayout.JAVA_FLOAT, d + k,
                    ds.getAtIndex(ValueLayout.JAVA_FLOAT, d + k) + ss.getAtIndex(ValueLayout.JAVA_FLOAT, s + k));
        }
    }

    // ---------------------------------------------------------------- helpers

    /** The indices of {@code index [n]} as longs, each checked against {@code [0, size)}. */
    private static long[] readAndCheck(String op, Tensor index, int dim, long size) {
        long n = index.size(0);
        if (n > Integer.MAX_VALUE - 8) {
            throw new TensorOpException(op, "index of " + n + " entries exceeds the CPU backend's limit of 2^31");
        }
        MemorySegment is = index.storage().segment();
        boolean i64 = index.dtype() == DType.I64;
        long[] out = new long[(int) n];
        for (int j = 0; j < out.length; j++) {
            long v = readIndex(is, i64, index.offset() + j);
            if (v < 0 || v >= size) {
                throw outOfRange(op, v, dim, size, j, index.shape());
            }
            out[j] = v;
        }
        return out;
    }

    static long readIndex(MemorySegment seg, boolean i64, long pos) {
        return i64 ? seg.getAtIndex(ValueLayout.JAVA_LONG, pos) : seg.getAtIndex(ValueLayout.JAVA_INT, pos);
    }

    static TensorOpException outOfRange(String op, long idx, int dim, long size, long position, long[] indexShape) {
        String allowed = size == 0 ? "none: the dim is empty" : "0.." + (size - 1);
        return new TensorOpException(op, "index " + idx + " is out of range for dim " + dim + " of size " + size
                + " (allowed " + allowed + "), at element " + position + " of the index " + Shapes.str(indexShape));
    }

    /** Copies one element of {@code bytes} bytes; works for every dtype since no conversion happens. */
    static void copyElement(MemorySegment src, long si, MemorySegment dst, long di, int bytes) {
        switch (bytes) {
            case 4 -> dst.setAtIndex(ValueLayout.JAVA_INT, di, src.getAtIndex(ValueLayout.JAVA_INT, si));
            case 2 -> dst.setAtIndex(ValueLayout.JAVA_SHORT, di, src.getAtIndex(ValueLayout.JAVA_SHORT, si));
            case 8 -> dst.setAtIndex(ValueLayout.JAVA_LONG, di, src.getAtIndex(ValueLayout.JAVA_LONG, si));
            default -> dst.set(ValueLayout.JAVA_BYTE, di, src.get(ValueLayout.JAVA_BYTE, si));
        }
    }

    /** {@code dst[di] += src[si]} for the dtypes other than F32 (integers wrap like Java's). */
    private static void addElement(MemorySegment dst, long di, MemorySegment src, long si, DType dt) {
        if (dt.isFloating()) {
            HostElements.setFloat(dst, dt, di, HostElements.getFloat(dst, dt, di) + HostElements.getFloat(src, dt, si));
        } else {
            HostElements.setLong(dst, dt, di, HostElements.getLong(dst, dt, di) + HostElements.getLong(src, dt, si));
        }
    }

    private static long prod(long[] shape, int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) {
            p *= shape[i];
        }
        return p;
    }

    private static long[] drop(long[] a, int i) {
        long[] out = new long[a.length - 1];
        System.arraycopy(a, 0, out, 0, i);
        System.arraycopy(a, i + 1, out, i, a.length - i - 1);
        return out;
    }
}
