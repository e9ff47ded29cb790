package dev.panomni.kernels;

import dev.panomni.kernels.runtime.CudaDevice;
import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.tensor.Backend;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Storage;
import dev.panomni.tensor.ops.ActivationKernels;
import dev.panomni.tensor.ops.ArithKernels;
import dev.panomni.tensor.ops.GradNormKernels;
import dev.panomni.tensor.ops.GroupedGemmKernels;
import dev.panomni.tensor.ops.LinalgKernels;
import dev.panomni.tensor.ops.OptimizerKernels;
import dev.panomni.tensor.ops.AttentionKernels;
import dev.panomni.tensor.ops.BlockAttentionKernels;
import dev.panomni.tensor.ops.EmbeddingKernels;
import dev.panomni.tensor.ops.IndexingKernels;
import dev.panomni.tensor.ops.LayoutKernels;
import dev.panomni.tensor.ops.LossKernels;
import dev.panomni.tensor.ops.NormKernels;
import dev.panomni.tensor.ops.ReductionKernels;
import dev.panomni.tensor.ops.RotaryKernels;
import dev.panomni.tensor.ops.SelectionKernels;
import dev.panomni.tensor.ops.SoftmaxKernels;
import dev.panomni.tensor.ops.CountingSortKernels;
import dev.panomni.tensor.ops.GroupedRowsKernels;
import dev.panomni.tensor.ops.TopKKernels;
import dev.panomni.tensor.ops.UnaryKernels;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The CUDA backend, found through {@link java.util.ServiceLoader}: device tensors in memory from
 * each GPU's stream-ordered pool, kernels from the committed PTX of {@code kernels/cuda/*.cu}
 * queued on each device's compute stream, GEMM through cuBLASLt. Creating it touches no driver;
 * {@link #isAvailable()} probes once and is false (never throws) without a driver or a GPU.
 *
 * <p>Kernels compute F32, BF16 and F16 natively (fp32 arithmetic in registers from 16-bit
 * storage) and integers and bools natively, so the op front ends never widen for this backend.
 *
 * <p>Ordering: every op queues its work on the compute stream of the tensors' device and returns
 * without waiting; copies to the host and {@link #synchronize} wait.
 */
public final class CudaBackend implements Backend {
    private final Map<Class<?>, Object> kernels = new ConcurrentHashMap<>();

    public CudaBackend() {
        register(LayoutKernels.class, new CudaLayoutKernels());
        register(ArithKernels.class, new CudaArithKernels());
        CudaLinalgKernels linalg = new CudaLinalgKernels();
        register(LinalgKernels.class, linalg);
        register(GroupedGemmKernels.class, new CudaGroupedGemmKernels(linalg));
        register(OptimizerKernels.class, new CudaOptimizerKernels());
        register(GradNormKernels.class, new CudaGradNormKernels());
        register(UnaryKernels.class, new CudaUnaryKernels());
        register(ReductionKernels.class, new CudaReductionKernels());
        register(SoftmaxKernels.class, new CudaSoftmaxKernels());
        register(LossKernels.class, new CudaLossKernels());
        register(NormKernels.class, new CudaNormKernels());
        register(RotaryKernels.class, new CudaRotaryKernels());
        register(ActivationKernels.class, new CudaActivationKernels());
        register(EmbeddingKernels.class, new CudaEmbeddingKernels());
        register(IndexingKernels.class, new CudaIndexingKernels());
        register(TopKKernels.class, new CudaTopKKernels());
        register(CountingSortKernels.class, new CudaCountingSortKernels());
        register(GroupedRowsKernels.class, new CudaGroupedRowsKernels());
        register(SelectionKernels.class, new CudaSelectionKernels());
        register(AttentionKernels.class, new CudaAttentionKernels());
        register(BlockAttentionKernels.class, new CudaBlockAttentionKernels());
    }

    private <K> void register(Class<K> family, K impl) {
        kernels.put(family, impl);
    }

    @Override
    public Device.Type deviceType() {
        return Device.Type.CUDA;
    }

    @Override
    public boolean isAvailable() {
        return CudaRuntime.isAvailable();
    }

    @Override
    public Storage allocate(Device device, long byteSize) {
        return CudaRuntime.device(device).allocate(byteSize);
    }

    @Override
    public boolean computesNatively(DType dtype) {
        return true;
    }

    @Override
    public void copyFromHost(MemorySegment host, Storage dst, long dstOffset, long byteSize) {
        checkRange("copyFromHost", dst, dstOffset, byteSize);
        CudaDevice d = CudaRuntime.device(dst.device());
        d.copyFromHost(host, dst.segment().address() + dstOffset, byteSize);
    }

    @Override
    public void copyToHost(Storage src, long srcOffset, MemorySegment host, long byteSize) {
        checkRange("copyToHost", src, srcOffset, byteSize);
        CudaDevice d = CudaRuntime.device(src.device());
        d.copyToHost(src.segment().address() + srcOffset, host, byteSize);
    }

    private static void checkRange(String what, Storage s, long offset, long byteSize) {
        if (offset < 0 || byteSize < 0 || offset + byteSize > s.byteSize()) {
            throw new IndexOutOfBoundsException(what + ": bytes [" + offset + ", " + (offset + byteSize)
                    + ") outside a device storage of " + s.byteSize() + " bytes on " + s.device());
        }
    }

    @Override
    public void synchronize(Device device) {
        CudaRuntime.device(device).synchronize();
    }

    @Override
    public <K> K kernels(Class<K> family) {
        Object k = kernels.get(family);
        if (k == null) {
            throw new UnsupportedOperationException("the CUDA backend has no " + family.getSimpleName()
                    + " yet; run this op on the cpu device");
        }
        return family.cast(k);
    }

    /** The device runtime of a CUDA tensor's device (streams, events, memory statistics). */
    public static CudaDevice device(Device device) {
        return CudaRuntime.device(device);
    }
}
