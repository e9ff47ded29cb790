package dev.panomni.bindings.nccl;

import dev.panomni.bindings.CStrings;

import java.lang.foreign.MemorySegment;

/** Turns {@code ncclResult_t} codes into {@link NcclException}s. */
public final class NcclStatus {
    private NcclStatus() {}

    /** Throws {@link NcclException} unless {@code status} is {@code ncclSuccess}. */
    public static void check(int status, String call) {
        check(status, call, MemorySegment.NULL);
    }

    /** As {@link #check(int, String)}, asking {@code comm} (may be NULL) for its last error. */
    public static void check(int status, String call, MemorySegment comm) {
        if (status != ncclResult_t.ncclSuccess) {
            throw exception(status, call, comm);
        }
    }

    public static NcclException exception(int status, String call, MemorySegment comm) {
        String name = ncclResult_t.nameOf(status) != null ? ncclResult_t.nameOf(status) : "unknown ncclResult_t";
        String text = null;
        String last = null;
        try {
            text = CStrings.read(Nccl.ncclGetErrorString(status));
            last = CStrings.read(Nccl.ncclGetLastError(comm == null ? MemorySegment.NULL : comm));
        } catch (RuntimeException e) {
            // NCCL unusable: keep the generated name
        }
        return new NcclException(call, status, name, text != null ? text : "(no description from NCCL)", last);
    }
}
