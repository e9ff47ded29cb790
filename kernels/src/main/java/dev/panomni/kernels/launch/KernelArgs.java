package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The parameters of one kernel launch, in the form {@code cuLaunchKernel} takes: each value stored
 * at its natural alignment in a native buffer, plus an array of pointers to them, in the order of
 * the kernel's C signature. One buffer per thread is reused (the driver copies the values at the
 * launch), so packing costs no allocation. Only launcher classes use this; the methods must match
 * the kernel's parameter types exactly ({@code int} is {@link #i32}, {@code long long} and
 * {@code size_t} are {@link #i64}, pointers are {@link #ptr}).
 */
final class KernelArgs implements AutoCloseable {
    private static final int MAX_ARGS = 64;
    private static final long VALUE_BYTES = 8192;
    private static final ThreadLocal<KernelArgs> PER_THREAD = ThreadLocal.withInitial(KernelArgs::new);

    private final MemorySegment values;
    private final MemorySegment pointers;
    private int count;
    private long used;
    private boolean open;

    private KernelArgs() {
        Arena arena = Arena.ofAuto();
        values = arena.allocate(VALUE_BYTES, 16);
        pointers = arena.allocate(ADDRESS, MAX_ARGS);
    }

    /** An empty argument list; close it after the launch. */
    static KernelArgs open() {
        KernelArgs a = PER_THREAD.get();
        if (a.open) {
            a = new KernelArgs(); // nested use on one thread: a private buffer
        }
        a.open = true;
        a.count = 0;
        a.used = 0;
        return a;
    }

    /** A pointer parameter: the device address of element [0, ...] of {@code t}. */
    KernelArgs ptr(Tensor t) {
        return i64(CudaTensors.address(t));
    }

    /** A pointer parameter: the device address of {@code t}, or null for a null tensor. */
    KernelArgs ptrOrNull(Tensor t) {
        return i64(t == null ? 0L : CudaTensors.address(t));
    }

    /** A pointer parameter given as a raw device address. */
    KernelArgs ptr(long deviceAddress) {
        return i64(deviceAddress);
    }

    KernelArgs i32(int v) {
        slot(4, 4).set(JAVA_INT, 0, v);
        return this;
    }

    KernelArgs i64(long v) {
        slot(8, 8).set(JAVA_LONG, 0, v);
        return this;
    }

    KernelArgs f32(float v) {
        slot(4, 4).set(JAVA_FLOAT, 0, v);
        return this;
    }

    KernelArgs f64(double v) {
        slot(8, 8).set(JAVA_DOUBLE, 0, v);
        return this;
    }

    /** A {@code Strided} struct by value: operand {@code o} of {@code s} (rank, pad, shape[8], stride[8]). */
    KernelArgs strided(StridedOperands s, int o) {
        return strided(s.shape(), s.strides(o));
    }

    /** A {@code Strided} struct by value from an explicit (already coalesced) shape and strides. */
    KernelArgs strided(long[] shape, long[] strides) {
        if (shape.length > StridedOperands.MAX_RANK || strides.length != shape.length) {
            throw new IllegalArgumentException("Strided takes up to " + StridedOperands.MAX_RANK
                    + " dims with one stride each, got shape of rank " + shape.length + " and " + strides.length
                    + " strides");
        }
        int max = StridedOperands.MAX_RANK;
        MemorySegment s = slot(8 + 16L * max, 8);
        s.fill((byte) 0);
        s.set(JAVA_INT, 0, shape.length);
        for (int i = 0; i < shape.length; i++) {
            s.set(JAVA_LONG, 8 + 8L * i, shape[i]);
            s.set(JAVA_LONG, 8 + 8L * max + 8L * i, strides[i]);
        }
        return this;
    }

    /** Raw bytes of a by-value struct with the given size and alignment; the caller fills them. */
    MemorySegment struct(long byteSize, long alignment) {
        MemorySegment s = slot(byteSize, alignment);
        s.fill((byte) 0);
        return s;
    }

    private MemorySegment slot(long size, long align) {
        if (count == MAX_ARGS) {
            throw new IllegalStateException("more than " + MAX_ARGS + " kernel arguments");
        }
        long at = (used + align - 1) / align * align;
        if (at + size > VALUE_BYTES) {
            throw new IllegalStateException("kernel arguments exceed " + VALUE_BYTES + " bytes");
        }
        MemorySegment s = values.asSlice(at, size);
        pointers.setAtIndex(ADDRESS, count++, s);
        used = at + size;
        return s;
    }

    /** Number of parameters packed. */
    int count() {
        return count;
    }

    /** The {@code void **kernelParams} array. */
    MemorySegment pointerArray() {
        return pointers;
    }

    @Override
    public void close() {
        open = false;
    }
}
