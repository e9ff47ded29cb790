package dev.panomni.kernels.runtime;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A small per-thread native buffer for the out-parameters of driver calls ({@code CUdeviceptr *},
 * {@code CUstream *}, ...), so that allocating a tensor or creating an event costs no arena. Read
 * the value right after the one call that wrote it: the next call on the thread reuses the buffer.
 */
final class OutParams {
    private static final ThreadLocal<MemorySegment> BUFFER =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(64, 16));

    private OutParams() {
    }

    /** This thread's 64-byte buffer. */
    static MemorySegment get() {
        return BUFFER.get();
    }
}
