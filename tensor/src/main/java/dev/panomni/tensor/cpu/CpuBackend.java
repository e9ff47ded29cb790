package dev.panomni.tensor.cpu;

import dev.panomni.tensor.Backend;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Storage;
import dev.panomni.tensor.ops.ActivationKernels;
import dev.panomni.tensor.ops.ArithKernels;
import dev.panomni.tensor.ops.AttentionKernels;
import dev.panomni.tensor.ops.BlockAttentionKernels;
import dev.panomni.tensor.ops.EmbeddingKernels;
import dev.panomni.tensor.ops.GroupedGemmKernels;
import dev.panomni.tensor.ops.GradNormKernels;
import dev.panomni.tensor.ops.LayoutKernels;
import dev.panomni.tensor.ops.LinalgKernels;
import dev.panomni.tensor.ops.NormKernels;
import dev.panomni.tensor.ops.OptimizerKernels;
import dev.panomni.tensor.ops.RotaryKernels;
import dev.panomni.tensor.ops.IndexingKernels;
import dev.panomni.tensor.ops.SelectionKernels;
import dev.panomni.tensor.ops.CountingSortKernels;
import dev.panomni.tensor.ops.GroupedRowsKernels;
import dev.panomni.tensor.ops.TopKKernels;
import dev.panomni.tensor.ops.LossKernels;
import dev.panomni.tensor.ops.ReductionKernels;
import dev.panomni.tensor.ops.SoftmaxKernels;
import dev.panomni.tensor.ops.UnaryKernels;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The CPU backend: plain Java kernels, vectorized with the Vector API and spread over cores. It is a
 * full backend and the reference every other backend is tested against. It computes in F32 (BF16
 * and F16 are widened by the op front ends) and natively on integer and bool tensors.
 */
public final class CpuBackend implements Backend {
    /** The single instance (also what {@link java.util.ServiceLoader} creates). */
    public static final CpuBackend INSTANCE = new CpuBackend();

    private final Map<Class<?>, Object> kernels = new ConcurrentHashMap<>();

    public CpuBackend() {
        register(LayoutKernels.class, new CpuLayoutKernels());
        register(ArithKernels.class, new CpuArithKernels());
        register(LinalgKernels.class, new CpuLinalgKernels());
        register(GroupedGemmKernels.class, new CpuGroupedGemmKernels());
        register(NormKernels.class, new CpuNormKernels());
        register(ActivationKernels.class, new CpuActivationKernels());
        register(EmbeddingKernels.class, new CpuEmbeddingKernels());
        register(RotaryKernels.class, new CpuRotaryKernels());
        register(OptimizerKernels.class, new CpuOptimizerKernels());
        register(GradNormKernels.class, new CpuGradNormKernels());
        register(IndexingKernels.class, new CpuIndexingKernels());
        register(TopKKernels.class, new CpuTopKKernels());
        register(CountingSortKernels.class, new CpuCountingSortKernels());
        register(GroupedRowsKernels.class, new CpuGroupedRowsKernels());
        register(SelectionKernels.class, new CpuSelectionKernels());
        register(AttentionKernels.class, new CpuAttentionKernels());
        register(BlockAttentionKernels.class, new CpuBlockAttentionKernels());
        register(UnaryKernels.class, new CpuUnaryKernels());
        register(ReductionKernels.class, new CpuReductionKernels());
        register(SoftmaxKernels.class, new CpuSoftmaxKernels());
        register(LossKernels.class, new CpuLossKernels());
    }

    private <K> void register(Class<K> family, K impl) {
        kernels.put(family, impl);
    }

    @Override
    public Device.Type deviceType() {
        return Device.Type.CPU;
    }

    @Override
    public boolean isAvailable() {
        return true;
    }

    @Override
    public Storage allocate(Device device, long byteSize) {
        return HostMemory.allocate(byteSize);
    }

    @Override
    public boolean computesNatively(DType dtype) {
        return dtype != DType.BF16 && dtype != DType.F16;
    }

    @Override
    public void copyFromHost(MemorySegment host, Storage dst, long dstOffset, long byteSize) {
        MemorySegment.copy(host, 0, dst.segment(), dstOffset, byteSize);
    }

    @Override
    public void copyToHost(Storage src, long srcOffset, MemorySegment host, long byteSize) {
        MemorySegment.copy(src.segment(), srcOffset, host, 0, byteSize);
    }

    @Override
    public void synchronize(Device device) {
        // CPU kernels complete before they return.
    }

    @Override
    public <K> K kernels(Class<K> family) {
        Object k = kernels.get(family);
        if (k == null) {
            throw new UnsupportedOperationException("the CPU backend has no " + family.getSimpleName());
        }
        return family.cast(k);
    }
}
