package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.OptimizerKernels.AdamWHyper;
import dev.panomni.tensor.ops.OptimizerKernels.SgdHyper;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Typed launchers for the kernels of {@code kernels/cuda/optim.cu}: one launch per list of tensors,
 * driven by a device table of per-tensor entries and a prefix sum of their chunk counts.
 */
public final class OptimLaunchers {
    /** CHUNK of optim.cu: elements per block. */
    static final long CHUNK = 8192;
    private static final int THREADS = 256;

    // struct AdamWEntry (96 bytes)
    static final long ADAMW_BYTES = 96;
    // struct SgdEntry (72 bytes)
    static final long SGD_BYTES = 72;
    // struct NormEntry (24 bytes)
    static final long NORM_BYTES = 24;

    private static final KernelLauncher ADAMW = new KernelLauncher("optim", "adamw_multi");
    private static final KernelLauncher SGD = new KernelLauncher("optim", "sgd_multi");
    private static final KernelLauncher SUM_SQUARES_CHUNKS = new KernelLauncher("optim", "sum_squares_chunks");
    private static final KernelLauncher SUM_SQUARES_COMBINE = new KernelLauncher("optim", "sum_squares_combine");
    private static final KernelLauncher COMBINE_NORM = new KernelLauncher("optim", "combine_norm");
    private static final KernelLauncher SCALE_TO_MAX_NORM = new KernelLauncher("optim", "scale_to_max_norm");

    private OptimLaunchers() {
    }

    /**
     * One fused AdamW step over all tensors (contract of {@code OptimizerKernels.adamwStep}): one
     * launch, the hyper-parameters derived on the host exactly as the CPU derives them.
     */
    public static void adamw(CudaStream s, Tensor[] params, Tensor[] grads, Tensor[] expAvg, Tensor[] expAvgSq,
                             Tensor[] masters, AdamWHyper[] hyper) {
        int count = params.length;
        if (count == 0) {
            return;
        }
        long entriesBytes = count * ADAMW_BYTES;
        try (DeviceTable table = new DeviceTable(s, entriesBytes + (count + 1L) * 8)) {
            MemorySegment h = table.host();
            long blocks = chunkPrefix(h, entriesBytes, params);
            for (int i = 0; i < count; i++) {
                AdamWHyper y = hyper[i];
                MemorySegment e = h.asSlice(i * ADAMW_BYTES, ADAMW_BYTES);
                e.set(JAVA_LONG, 0, on(s, params[i]));
                e.set(JAVA_LONG, 8, on(s, grads[i]));
                e.set(JAVA_LONG, 16, on(s, expAvg[i]));
                e.set(JAVA_LONG, 24, on(s, expAvgSq[i]));
                e.set(JAVA_LONG, 32, masters[i] == null ? 0L : on(s, masters[i]));
                e.set(JAVA_LONG, 40, params[i].numel());
                e.set(JAVA_INT, 48, params[i].dtype().ordinal());
                e.set(JAVA_INT, 52, grads[i].dtype().ordinal());
                double bc1 = 1 - Math.pow(y.beta1(), y.step());
                double bc2 = 1 - Math.pow(y.beta2(), y.step());
                e.set(JAVA_FLOAT, 56, (float) y.beta1());
                e.set(JAVA_FLOAT, 60, (float) y.beta2());
                e.set(JAVA_FLOAT, 64, (float) (1 - y.beta1()));
                e.set(JAVA_FLOAT, 68, (float) (1 - y.beta2()));
                e.set(JAVA_FLOAT, 72, (float) y.eps());
                e.set(JAVA_FLOAT, 76, (float) (1 - y.lr() * y.weightDecay()));
                e.set(JAVA_FLOAT, 80, (float) (y.lr() / bc1));
                e.set(JAVA_FLOAT, 84, (float) (1 / Math.sqrt(bc2)));
            }
            if (blocks == 0) {
                return;
            }
            long base = table.upload();
            try (KernelArgs a = KernelArgs.open()) {
                a.ptr(base).ptr(base + entriesBytes).i32(count);
                ADAMW.launch(s, LaunchConfig.linear(blocks, THREADS), a, "OptimizerKernels.adamwStep");
            }
        }
    }

    /** One SGD step over all tensors (contract of {@code OptimizerKernels.sgdStep}): one launch. */
    public static void sgd(CudaStream s, Tensor[] params, Tensor[] grads, Tensor[] buffers, Tensor[] masters,
                           SgdHyper[] hyper) {
        int count = params.length;
        if (count == 0) {
            return;
        }
        long entriesBytes = count * SGD_BYTES;
        try (DeviceTable table = new DeviceTable(s, entriesBytes + (count + 1L) * 8)) {
            MemorySegment h = table.host();
            long blocks = chunkPrefix(h, entriesBytes, params);
            for (int i = 0; i < count; i++) {
                SgdHyper y = hyper[i];
                boolean useBuffer = y.momentum() != 0;
                if (useBuffer && buffers[i] == null) {
                    throw new IllegalArgumentException("sgdStep: momentum " + y.momentum() + " needs a momentum buffer "
                            + "for parameter " + i + " " + params[i].describe());
                }
                MemorySegment e = h.asSlice(i * SGD_BYTES, SGD_BYTES);
                e.set(JAVA_LONG, 0, on(s, params[i]));
                e.set(JAVA_LONG, 8, on(s, grads[i]));
                e.set(JAVA_LONG, 16, useBuffer ? on(s, buffers[i]) : 0L);
                e.set(JAVA_LONG, 24, masters[i] == null ? 0L : on(s, masters[i]));
                e.set(JAVA_LONG, 32, params[i].numel());
                e.set(JAVA_INT, 40, params[i].dtype().ordinal());
                e.set(JAVA_INT, 44, grads[i].dtype().ordinal());
                e.set(JAVA_FLOAT, 48, (float) y.lr());
                e.set(JAVA_FLOAT, 52, (float) y.weightDecay());
                e.set(JAVA_FLOAT, 56, (float) y.momentum());
                e.set(JAVA_FLOAT, 60, (float) (1 - y.dampening()));
                e.set(JAVA_INT, 64, (useBuffer ? 1 : 0) | (y.firstStep() ? 2 : 0) | (y.nesterov() ? 4 : 0));
            }
            if (blocks == 0) {
                return;
            }
            long base = table.upload();
            try (KernelArgs a = KernelArgs.open()) {
                a.ptr(base).ptr(base + entriesBytes).i32(count);
                SGD.launch(s, LaunchConfig.linear(blocks, THREADS), a, "OptimizerKernels.sgdStep");
            }
        }
    }

    /** {@code partials[i] = sum of tensors[i]^2} (F32 [count]); deterministic, no host round trip. */
    public static void sumOfSquares(CudaStream s, Tensor[] tensors, Tensor partials) {
        int count = tensors.length;
        if (count == 0) {
            return;
        }
        checkF32Vector("sumOfSquares partials", partials, count);
        long entriesBytes = count * NORM_BYTES;
        try (DeviceTable table = new DeviceTable(s, entriesBytes + (count + 1L) * 8)) {
            long blocks = fillNormTable(table.host(), entriesBytes, tensors);
            long base = table.upload();
            long chunkSums = s.device().allocateRaw(Math.max(1, blocks) * 8, s);
            try {
                if (blocks > 0) {
                    try (KernelArgs a = KernelArgs.open()) {
                        a.ptr(base).ptr(base + entriesBytes).i32(count).ptr(chunkSums);
                        SUM_SQUARES_CHUNKS.launch(s, LaunchConfig.linear(blocks, THREADS), a,
                                "GradNormKernels.sumOfSquares");
                    }
                }
                try (KernelArgs a = KernelArgs.open()) {
                    a.ptr(base + entriesBytes).i32(count).ptr(chunkSums).ptr(partials);
                    SUM_SQUARES_COMBINE.launch(s, LaunchConfig.linear(Math.min(count, 4096), THREADS), a,
                            "GradNormKernels.sumOfSquares");
                }
            } finally {
                s.device().free(chunkSums, s);
            }
        }
    }

    /** {@code norm = sqrt(sum(partials))}: partials F32 [n], norm F32 scalar. */
    public static void combineNorm(CudaStream s, Tensor partials, Tensor norm) {
        checkF32Vector("combineNorm partials", partials, partials.numel());
        checkF32Vector("combineNorm norm", norm, 1);
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(partials).i64(partials.numel()).ptr(norm);
            COMBINE_NORM.launch(s, LaunchConfig.linear(1, THREADS), a, "GradNormKernels.combineNorm");
        }
    }

    /** Scales every tensor by {@code min(1, maxNorm / (norm + eps))}, read from {@code norm} on the device. */
    public static void scaleToMaxNorm(CudaStream s, Tensor[] tensors, Tensor norm, double maxNorm, double eps) {
        int count = tensors.length;
        if (count == 0) {
            return;
        }
        checkF32Vector("scaleToMaxNorm norm", norm, 1);
        long entriesBytes = count * NORM_BYTES;
        try (DeviceTable table = new DeviceTable(s, entriesBytes + (count + 1L) * 8)) {
            long blocks = fillNormTable(table.host(), entriesBytes, tensors);
            if (blocks == 0) {
                return;
            }
            long base = table.upload();
            try (KernelArgs a = KernelArgs.open()) {
                a.ptr(base).ptr(base + entriesBytes).i32(count).ptr(norm).f64(maxNorm).f64(eps);
                SCALE_TO_MAX_NORM.launch(s, LaunchConfig.linear(blocks, THREADS), a, "GradNormKernels.scaleToMaxNorm");
            }
        }
    }

    private static long fillNormTable(MemorySegment h, long entriesBytes, Tensor[] tensors) {
        long blocks = chunkPrefix(h, entriesBytes, tensors);
        for (int i = 0; i < tensors.length; i++) {
            Tensor t = tensors[i];
            if (!t.dtype().isFloating() || !t.isContiguous()) {
                throw new IllegalArgumentException("gradient norms take contiguous floating tensors, got " + t.describe());
            }
            MemorySegment e = h.asSlice(i * NORM_BYTES, NORM_BYTES);
            e.set(JAVA_LONG, 0, CudaTensors.address(t));
            e.set(JAVA_LONG, 8, t.numel());
            e.set(JAVA_INT, 16, t.dtype().ordinal());
        }
        return blocks;
    }

    /** Writes chunk_start[count + 1] after the entries; returns the total number of chunks (blocks). */
    private static long chunkPrefix(MemorySegment h, long at, Tensor[] tensors) {
        long total = 0;
        h.set(JAVA_LONG, at, 0L);
        for (int i = 0; i < tensors.length; i++) {
            total += (tensors[i].numel() + CHUNK - 1) / CHUNK;
            h.set(JAVA_LONG, at + 8L * (i + 1), total);
        }
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("more than 2^31 chunks of " + CHUNK + " elements in one optimizer call");
        }
        return total;
    }

    /** The device address of {@code t}, which must live on the stream's device. */
    private static long on(CudaStream s, Tensor t) {
        if (!t.device().equals(s.device().device())) {
            throw new IllegalArgumentException("all tensors of one optimizer or norm call must be on "
                    + s.device().device() + ", got " + t.describe());
        }
        return CudaTensors.address(t);
    }

    private static void checkF32Vector(String what, Tensor t, long n) {
        if (t.dtype() != DType.F32 || !t.isContiguous() || t.numel() != n) {
            throw new IllegalArgumentException(what + " must be a contiguous F32 tensor of " + n + " elements, got "
                    + t.describe());
        }
    }
}
