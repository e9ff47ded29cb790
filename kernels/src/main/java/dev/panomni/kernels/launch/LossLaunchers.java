package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Typed launchers for the kernels of {@code kernels/cuda/loss.cu}. */
public final class LossLaunchers {
    private static final int PER_THREAD = 8;
    private static final KernelLauncher CHECK_TARGETS = new KernelLauncher("loss", "ce_check_targets");
    private static final FloatKernel FORWARD = new FloatKernel("loss", "ce_forward");
    private static final FloatKernel BACKWARD = new FloatKernel("loss", "ce_backward");
    private static final FloatKernel FUSED = new FloatKernel("loss", "ce_fused");
    private static final FloatKernel FUSED_HELD = new FloatKernel("loss", "ce_fused_held");
    /** Vectors of a row one lane of ce_fused_held keeps in registers (CE_CHUNK of loss.cu). */
    private static final int HELD_VECTORS = 8;
    /** The widest group ce_fused_held runs with (its launch bounds: 512 threads, two blocks an SM). */
    private static final int HELD_MAX_GROUP = 512;

    private LossLaunchers() {
    }

    /**
     * Counts the targets that are not {@code ignoreIndex} and finds the first outside [0, classes):
     * {@code {counted, firstInvalid or -1}}. Waits for the device (the caller needs host values).
     *
     * @param scratch an I64 tensor of at least 2 elements on the targets' device
     */
    public static long[] checkTargets(CudaStream s, Tensor targets, long classes, long ignoreIndex, Tensor scratch) {
        long n = targets.numel();
        if (n == 0) {
            return new long[] {0, -1};
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(targets).i32(wide(targets)).i64(n).i64(classes).i64(ignoreIndex).ptr(scratch);
            CHECK_TARGETS.launch(s, LaunchConfig.linear(1, 1024), a, "LossKernels.checkTargets " + targets.describe());
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(ValueLayout.JAVA_LONG, 2);
            s.device().copyToHost(CudaTensors.address(scratch), host, 16);
            return new long[] {host.getAtIndex(ValueLayout.JAVA_LONG, 0), host.getAtIndex(ValueLayout.JAVA_LONG, 1)};
        }
    }

    /** Per-row loss and log-sum-exp of logits [rows, classes]; rowLse may be null. */
    public static void forward(CudaStream s, Tensor logits, Tensor targets, long ignoreIndex, Tensor rowLoss,
                               Tensor rowLse) {
        long rows = logits.size(0);
        long n = logits.size(1);
        if (rows == 0) {
            return;
        }
        RowGroups rg = RowGroups.of(rows, SoftmaxLaunchers.units(n, logits), PER_THREAD);
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(logits).ptr(targets).i32(wide(targets)).i64(rows).i64(n).i64(ignoreIndex).ptr(rowLoss)
                    .ptrOrNull(rowLse).i32(rg.group());
            FORWARD.of(logits.dtype()).launch(s, rg.config(), a, "LossKernels.crossEntropyForward " + logits.describe());
        }
    }

    /** {@code grad = (softmax - onehot) * upstream * scale}, ignored rows zero; grad may be logits. */
    public static void backward(CudaStream s, Tensor logits, Tensor targets, long ignoreIndex, Tensor rowLse,
                                Tensor upstream, double scale, Tensor grad) {
        long rows = logits.size(0);
        long n = logits.size(1);
        if (rows == 0 || n == 0) {
            return;
        }
        RowGroups rg = RowGroups.of(rows, SoftmaxLaunchers.units(n, logits, grad), PER_THREAD);
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(logits).ptr(targets).i32(wide(targets)).i64(rows).i64(n).i64(ignoreIndex).ptr(rowLse).ptr(upstream)
                    .f64(scale).ptr(grad).i32(rg.group());
            BACKWARD.of(logits.dtype()).launch(s, rg.config(), a, "LossKernels.crossEntropyBackward " + logits.describe());
        }
    }

    /** Loss and gradient in one pass; grad may be logits (overwritten in place). */
    public static void fused(CudaStream s, Tensor logits, Tensor targets, long ignoreIndex, double gradScale,
                             Tensor rowLoss, Tensor grad) {
        long rows = logits.size(0);
        long n = logits.size(1);
        if (rows == 0) {
            return;
        }
        long units = SoftmaxLaunchers.units(n, logits, grad);
        RowGroups rg = RowGroups.of(rows, units, PER_THREAD);
        // The row stays in registers between the statistics and the gradient when it is read in
        // vectors and each lane's share fits: one read and one write of the logits.
        boolean vectors = n % FloatKernel.vectorWidth(logits.dtype()) == 0 && FloatKernel.aligned16(logits, grad);
        boolean held = vectors && rg.group() <= HELD_MAX_GROUP && units <= (long) HELD_VECTORS * rg.group();
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(logits).ptr(targets).i32(wide(targets)).i64(rows).i64(n).i64(ignoreIndex).f64(gradScale).ptr(rowLoss)
                    .ptr(grad).i32(rg.group());
            (held ? FUSED_HELD : FUSED).of(logits.dtype()).launch(s, rg.config(), a,
                    "LossKernels.crossEntropyFused " + logits.describe());
        }
    }

    private static int wide(Tensor targets) {
        return targets.dtype() == DType.I64 ? 1 : 0;
    }
}
