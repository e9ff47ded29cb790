package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;

/**
 * Typed launchers for the kernels of {@code kernels/cuda/norm.cu}.
 *
 * <p>Layout choice: a row of D elements is "cached" (each lane keeps up to 4 16-byte vectors in
 * registers) when it is a whole number of vectors and every tensor is 16-byte aligned; the group
 * size is then the power of two that gives each lane at most 4 vectors, up to 1024 lanes forward
 * and 256 backward (the backward kernels hold more registers per thread). Other rows take the
 * kernels' loose path with 256 threads per row.
 *
 * <p>Backward weight and bias gradients are reduced in two deterministic steps: each of
 * {@link #partialBlocks} blocks writes one F32 partial row, and {@code norm_reduce_partials} adds
 * them in block order. The block count depends only on the shapes.
 */
public final class NormLaunchers {
    private static final int CACHE_VECS = 4;
    private static final int MAX_GROUP_FORWARD = 1024;
    private static final int MAX_GROUP_BACKWARD = 256;
    private static final int LOOSE_THREADS = 256;
    private static final int MAX_PARTIALS = 512;
    private static final FloatKernel RMS_FORWARD = new FloatKernel("norm", "rmsnorm_forward");
    private static final FloatKernel RMS_BACKWARD = new FloatKernel("norm", "rmsnorm_backward");
    private static final FloatKernel LN_FORWARD = new FloatKernel("norm", "layernorm_forward");
    private static final FloatKernel LN_BACKWARD = new FloatKernel("norm", "layernorm_backward");
    private static final KernelLauncher REDUCE_PARTIALS = new KernelLauncher("norm", "norm_reduce_partials");

    private NormLaunchers() {
    }

    /** The row layout: cached with {@code group} lanes per row, or loose (group = LOOSE_THREADS). */
    private record Layout(boolean cached, RowGroups rows) {
    }

    private static Layout layout(long rows, int d, int maxGroup, Tensor... ts) {
        DType dt = ts[0].dtype();
        int w = FloatKernel.vectorWidth(dt);
        if (d % w == 0 && FloatKernel.aligned16(ts)) {
            long nvec = d / w;
            int g = FloatKernel.pow2AtLeast((nvec + CACHE_VECS - 1) / CACHE_VECS);
            if (g <= maxGroup) {
                return new Layout(true, RowGroups.withGroup(rows, g));
            }
        }
        return new Layout(false, RowGroups.withGroup(rows, LOOSE_THREADS));
    }

    /**
     * Blocks of a backward launch over {@code rows} rows, which is also the number of partial rows
     * the weight gradient is reduced from: a function of the shapes only.
     */
    public static int partialBlocks(long rows, int d, DType dtype, boolean aligned) {
        int w = FloatKernel.vectorWidth(dtype);
        int rowsPerBlock = 1;
        if (aligned && d % w == 0) {
            long nvec = d / w;
            int g = FloatKernel.pow2AtLeast((nvec + CACHE_VECS - 1) / CACHE_VECS);
            if (g <= MAX_GROUP_BACKWARD) {
                rowsPerBlock = RowGroups.withGroup(rows, g).rowsPerBlock();
            }
        }
        return (int) Math.max(1, Math.min(MAX_PARTIALS, (rows + rowsPerBlock - 1) / rowsPerBlock));
    }

    /** Whether every non-null tensor is 16-byte aligned (the input to {@link #partialBlocks}). */
    public static boolean aligned(Tensor... ts) {
        return FloatKernel.aligned16(ts);
    }

    public static void rmsForward(CudaStream s, Tensor x, Tensor w, float eps, Tensor y, Tensor rstd, long rows, int d) {
        if (rows == 0 || d == 0) {
            return;
        }
        Layout l = layout(rows, d, MAX_GROUP_FORWARD, x, w, y);
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(x).ptr(w).f32(eps).ptr(y).ptrOrNull(rstd).i64(rows).i32(d).i32(l.rows.group()).i32(l.cached ? 1 : 0);
            RMS_FORWARD.of(x.dtype()).launch(s, l.rows.config(), a, "NormKernels.rmsNormForward " + x.describe());
        }
    }

    /**
     * RMSNorm backward; dx may be null. With {@code partial} (F32 [partialBlocks, d]) non-null the
     * weight gradient goes to {@code dweight}.
     */
    public static void rmsBackward(CudaStream s, Tensor dy, Tensor x, Tensor w, Tensor rstd, Tensor dx, Tensor partial,
                                   Tensor dweight, long rows, int d) {
        if (d == 0) {
            return;
        }
        Layout l = layout(rows, d, MAX_GROUP_BACKWARD, dy, x, w, dx);
        int blocks = partialBlocks(rows, d, x.dtype(), aligned(dy, x, w, dx));
        if (rows > 0) {
            try (KernelArgs a = KernelArgs.open()) {
                a.ptr(dy).ptr(x).ptr(w).ptr(rstd).ptrOrNull(dx).ptrOrNull(partial).i64(rows).i32(d)
                        .i32(l.rows.group()).i32(l.cached ? 1 : 0);
                RMS_BACKWARD.of(x.dtype()).launch(s, LaunchConfig.linear(blocks, l.rows.threads()), a,
                        "NormKernels.rmsNormBackward " + x.describe());
            }
        }
        if (dweight != null) {
            reducePartials(s, partial, rows > 0 ? blocks : 0, d, dweight);
        }
    }

    public static void layerForward(CudaStream s, Tensor x, Tensor w, Tensor b, float eps, Tensor y, Tensor mean,
                                    Tensor rstd, long rows, int d) {
        if (rows == 0 || d == 0) {
            return;
        }
        Layout l = layout(rows, d, MAX_GROUP_FORWARD, x, w, b, y);
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(x).ptr(w).ptrOrNull(b).f32(eps).ptr(y).ptrOrNull(mean).ptrOrNull(rstd).i64(rows).i32(d)
                    .i32(l.rows.group()).i32(l.cached ? 1 : 0);
            LN_FORWARD.of(x.dtype()).launch(s, l.rows.config(), a, "NormKernels.layerNormForward " + x.describe());
        }
    }

    /** LayerNorm backward; partials F32 [partialBlocks, d] for each gradient wanted. */
    public static void layerBackward(CudaStream s, Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd, Tensor dx,
                                     Tensor partialW, Tensor dweight, Tensor partialB, Tensor dbias, long rows, int d) {
        if (d == 0) {
            return;
        }
        Layout l = layout(rows, d, MAX_GROUP_BACKWARD, dy, x, w, dx);
        int blocks = partialBlocks(rows, d, x.dtype(), aligned(dy, x, w, dx));
        if (rows > 0 && (dx != null || partialW != null || partialB != null)) {
            try (KernelArgs a = KernelArgs.open()) {
                a.ptr(dy).ptr(x).ptr(w).ptr(mean).ptr(rstd).ptrOrNull(dx).ptrOrNull(partialW).ptrOrNull(partialB)
                        .i64(rows).i32(d).i32(l.rows.group()).i32(l.cached ? 1 : 0);
                LN_BACKWARD.of(x.dtype()).launch(s, LaunchConfig.linear(blocks, l.rows.threads()), a,
                        "NormKernels.layerNormBackward " + x.describe());
            }
        }
        if (dweight != null) {
            reducePartials(s, partialW, rows > 0 ? blocks : 0, d, dweight);
        }
        if (dbias != null) {
            reducePartials(s, partialB, rows > 0 ? blocks : 0, d, dbias);
        }
    }

    /** out[c] = sum of parts partial rows (0 parts: zeros). */
    private static void reducePartials(CudaStream s, Tensor partial, int parts, int d, Tensor out) {
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(parts == 0 ? out : partial).i32(parts).i32(d).ptr(out);
            REDUCE_PARTIALS.launch(s, new LaunchConfig((d + 31) / 32, 1, 1, 32, 32, 1, 0), a,
                    "NormKernels weight-gradient reduction [" + d + "]");
        }
    }
}
